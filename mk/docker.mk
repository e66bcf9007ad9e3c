# mk/docker.mk - the Docker image, its tests and its figures (see compose.yaml, tests/docker/).
#
#   make docker        build the socketlab image (the base image first, offline, if missing)
#   make test-docker   the Docker tests only (REQUIRE_DOCKER=1 turns a skip into a failure)
#   make bench-docker  cold and warm build times, one containerised exchange, compose up

DOCKER_IMAGE ?= socketlab:latest
BASE_IMAGE   ?= debian:bookworm-slim

.PHONY: docker test-docker bench-docker
docker:
	@docker info >/dev/null 2>&1 || { echo "make docker: no Docker engine answers; start one (as root): docker/start-dockerd.sh" >&2; exit 1; }
	@bash docker/base-image.sh $(BASE_IMAGE)
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(DOCKER_IMAGE) .

test-docker:
	@PYTHON="$(PYTHON)"; [ -n "$$PYTHON" ] || PYTHON=/usr/bin/python3; \
	 SOCKETLAB_IMAGE=$(DOCKER_IMAGE) BASE_IMAGE=$(BASE_IMAGE) $$PYTHON -m pytest tests/docker $(PYTEST_ARGS)

bench-docker:
	@docker info >/dev/null 2>&1 || { echo "make bench-docker: no Docker engine answers; start one (as root): docker/start-dockerd.sh" >&2; exit 1; }
	@SOCKETLAB_IMAGE=$(DOCKER_IMAGE) BASE_IMAGE=$(BASE_IMAGE) bash docker/bench.sh
