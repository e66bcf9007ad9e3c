#!/usr/bin/env bash
# ensure-deps.sh - make sure the test suite's tools are here before 'make test'.
# On Debian/Ubuntu as root it installs what is missing; otherwise it names
# the one command to run and stops.
set -u
# Debian package name for each thing the suite needs, and how to check for it.
need=()
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need+=(python3-pytest)
/usr/bin/python3 -c 'import pytest_timeout' 2>/dev/null || need+=(python3-pytest-timeout)
/usr/bin/python3 -c 'import xdist' 2>/dev/null || need+=(python3-pytest-xdist)
command -v strace >/dev/null || need+=(strace)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v socat >/dev/null || need+=(socat)
command -v g++ >/dev/null || need+=(g++)
command -v ss >/dev/null || need+=(iproute2)
# tests/test_gbk.py generates a zh_CN.GBK locale from these sources (localedef).
[ -e /usr/share/i18n/charmaps/GBK.gz ] || need+=(locales)
# make bench-scale draws its plot with gnuplot (tests/test_bench_scale.py).
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
# As root, tests/test_slowlink.py puts an iptables NFQUEUE rule in its own network namespace.
[ "$(id -u)" = 0 ] && ! command -v iptables >/dev/null && need+=(iptables)
[ ${#need[@]} -eq 0 ] && exit 0

cmd="apt-get install -y ${need[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing what the tests need: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
    echo "make test: the install failed; run it yourself: $cmd" >&2
    exit 1
fi
echo "make test: missing test packages: ${need[*]}" >&2
echo "make test: install them with:  sudo $cmd" >&2
exit 1
