#!/usr/bin/env bash
# start-dockerd.sh - start a Docker engine in the background if none answers.
# Usage: docker/start-dockerd.sh   (CI runs it as root before the Docker tests)
# Waits up to 60 s for `docker info`; the engine's log goes to $DOCKERD_LOG.
set -euo pipefail
log=${DOCKERD_LOG:-/var/log/dockerd.log}

if docker info >/dev/null 2>&1; then
    echo "start-dockerd: a Docker engine is already running"
    exit 0
fi
command -v dockerd >/dev/null || { echo "start-dockerd: dockerd not found (apt-get install docker.io)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "start-dockerd: dockerd needs root" >&2; exit 1; }

# setsid: the engine outlives this script and the shell that ran it.
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 120); do
    if docker info >/dev/null 2>&1; then
        echo "start-dockerd: dockerd is up (log: $log)"
        exit 0
    fi
    sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
