#!/usr/bin/env bash
# bench.sh - the Docker figures: cold and warm image builds, one containerised exchange,
# and a warm `compose up` of one lesson end to end (target: at most 20 s on 2 cores).
# Usage: docker/bench.sh   (make bench-docker; needs a Docker engine)
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${SOCKETLAB_IMAGE:-socketlab:latest}
base=${BASE_IMAGE:-debian:bookworm-slim}
lesson=${LESSON:-06-close}
id=slbench-$$
compose=(docker-compose)
docker compose version >/dev/null 2>&1 && compose=(docker compose)

cleanup() {
    docker rm -f "$id-server" "$id-client" >/dev/null 2>&1 || true
    docker network rm "$id" >/dev/null 2>&1 || true
    "${compose[@]}" -p "${id//-/}" down -t 1 >/dev/null 2>&1 || true
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# A quiet build: its log only when it fails (the legacy builder's notice is noise here).
build() {
    local log; log=$(mktemp)
    docker build -q --build-arg "BASE_IMAGE=$base" "$@" -t "$image" . >"$log" 2>&1 \
        || { cat "$log" >&2; rm -f "$log"; exit 1; }
    rm -f "$log"
}

bash docker/base-image.sh "$base" >/dev/null

t=$(now); build --no-cache; cold=$(since "$t")
t=$(now); build;            warm=$(since "$t")

t=$(now)
docker network create "$id" >/dev/null
docker run -d --init --name "$id-server" --network "$id" --network-alias server "$image" \
    "/opt/socketlab/$lesson/server" 5005 >/dev/null
for _ in $(seq 200); do
    docker logs "$id-server" 2>/dev/null | grep -q '^listening on' && break
    sleep 0.05
done
docker run --init --name "$id-client" --network "$id" "$image" \
    "/opt/socketlab/$lesson/client" -q -n 10 -i 0 server 5005 >/dev/null
[ "$(docker wait "$id-server")" = 0 ] || { echo "bench-docker: the server failed" >&2; exit 1; }
exchange=$(since "$t")
cleanup

t=$(now)
LESSON=$lesson COUNT=10 INTERVAL=0 SOCKETLAB_IMAGE=$image \
    "${compose[@]}" -p "${id//-/}" up --no-color --exit-code-from client >/dev/null 2>&1
"${compose[@]}" -p "${id//-/}" down -t 1 >/dev/null 2>&1
upfig=$(since "$t")

echo "Docker figures ($(nproc) cores, lesson $lesson, 10 messages, -i 0):"
echo "  cold image build (--no-cache, base image present)  $cold s"
echo "  warm image build (all layers cached)               $warm s"
echo "  one exchange: network + server + client containers $exchange s"
echo "  warm end to end: compose up + down                $upfig s   (${compose[*]}; target <= 20 s)"
