#!/usr/bin/env bash
# base-image.sh - make sure the Dockerfile's base image exists, building it offline if not.
# Usage: docker/base-image.sh [IMAGE]   (default debian:bookworm-slim)
# No registry is reachable here or in CI, so `docker pull` cannot help: debootstrap a
# minimal Debian 12 and `docker import` it under the image's name. The packages come
# from the mirror this machine's own apt already uses (its sources), or DEBIAN_MIRROR=URL.
set -euo pipefail
image=${1:-${BASE_IMAGE:-debian:bookworm-slim}}
suite=${BASE_SUITE:-bookworm}

# The first URI of a deb source for $suite itself (not -security or -updates): deb822
# files (/etc/apt/sources.list.d/*.sources: "URIs:" and "Suites:" in one stanza) first,
# then one-line "deb [options] URI suite components" in sources.list and *.list.
machine_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v suite="$suite" '
            function flush() { if (deb && uri != "" && has) { print uri; found = 1; exit } }
            /^[ \t]*$/ { flush(); deb = 0; uri = ""; has = 0; next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
            END { if (!found) flush() }' "$f" | head -n 1
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
        awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
}

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base-image: $image is present"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "base-image: $image is missing and debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1; }
[ "$(id -u)" = 0 ] || { echo "base-image: debootstrap needs root" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-$(machine_mirror | head -n 1 || true)}
mirror=${mirror%/}
[ -n "$mirror" ] || {
    echo "base-image: no Debian mirror for $suite in this machine's apt sources" \
         "(/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list): set DEBIAN_MIRROR=URL" >&2
    exit 1; }

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
