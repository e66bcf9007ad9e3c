# Dockerfile - the socketlab lessons in a small image, for `docker compose up` and the Docker tests.
# Build stage compiles every lesson with the repo's Makefile; the runtime stage keeps only the
# programs, /opt/socketlab/<lesson>/server and client, and runs them as an unprivileged user.
# Offline sites: docker/base-image.sh builds BASE_IMAGE with debootstrap when it is missing.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# The toolchain layer comes first so it stays cached while the sources change.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what `make` reads: the lessons' tests and READMEs are kept out by .dockerignore.
COPY Makefile ./
COPY include/ include/
COPY src/ src/
COPY lessons/ lessons/
COPY tools/slowlink.c tools/
# The Chinese catalog (LANG=zh_CN.UTF-8 or LAB_LANG=zh in the containers).
COPY mk/i18n.mk mk/
COPY po/ po/
RUN make -j"$(nproc)" \
 && for dir in build/[0-9][0-9]-*/; do \
        lesson=$(basename "$dir"); mkdir -p "/out/$lesson"; \
        for prog in server client; do \
            if [ -x "$dir$prog" ]; then cp "$dir$prog" "/out/$lesson/"; fi; \
        done; \
    done \
 && strip /out/*/* build/tools/slowlink \
 && cp -r build/locale /out/locale     # the programs look in ../locale

FROM ${BASE_IMAGE}
# compose.yaml's slow profile (a slow or lossy link): iproute2 for `tc netem`, and
# iptables for slowlink, which does netem's delay and loss where the kernel has no netem.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iptables \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid, so files and `ps` inside read the same on every host.
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin lab
COPY --from=build /out/ /opt/socketlab/
COPY --from=build /src/build/tools/slowlink /usr/local/bin/slowlink
COPY docker/image-help.sh /usr/local/bin/socketlab-help
# Traces on stderr, no colour codes in `docker logs`; the final lesson's programs on PATH.
ENV NO_COLOR=1 PATH=/opt/socketlab/06-close:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER lab
WORKDIR /opt/socketlab
CMD ["socketlab-help"]
