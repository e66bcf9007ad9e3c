#!/usr/bin/env bash
# base-image.sh - make sure the Dockerfile's base image exists, building it offline if not.
# Usage: tests/docker/base-image.sh [IMAGE]   (default debian:bookworm-slim)
# No registry is reachable here or in CI, so `docker pull` cannot help: debootstrap a
# minimal Debian 12 from the Debian mirror and `docker import` it under the image's name.
set -euo pipefail
image=${1:-${BASE_IMAGE:-debian:bookworm-slim}}
suite=${BASE_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base-image: $image is present"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "base-image: $image is missing and debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1; }
[ "$(id -u)" = 0 ] || { echo "base-image: debootstrap needs root" >&2; exit 1; }

dir=$(mktemp -d /tmp/base-image.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "base-image: $image is missing; debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 || {
    echo "base-image: debootstrap failed; last lines of $dir.log:" >&2
    tail -n 20 "$dir.log" >&2
    exit 1; }
rm -f "$dir.log"
# Slim it like the registry's image: no apt lists or caches in the base layer.
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
tar -C "$dir" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$image" >/dev/null
echo "base-image: imported $image"
