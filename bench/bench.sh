#!/usr/bin/env bash
# bench.sh - round trips per second of lesson 06's server and client, quiet
# and traced, beside a bare C ping-pong over the same loopback, in one run.
# Usage: bench/bench.sh BUILD_DIR   (make bench; ROUNDS=N to change the count)
set -euo pipefail
build=${1:-build}
rounds=${ROUNDS:-20000}
repeats=${REPEATS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One lesson-06 run: server on port 0, client sends $rounds messages with no
# pause; the time is the client's whole run (connect to close).
lesson_run() {             # $1: extra flags ("-q" or ""), prints seconds
    local flags=$1 port=
    "$build/06-close/server" $flags 0 >"$tmp/out" 2>"$tmp/server.err" &
    local spid=$!
    for _ in $(seq 200); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
        [ -n "$port" ] && break
        sleep 0.01
    done
    local t0 t1
    t0=$(date +%s.%N)
    "$build/06-close/client" $flags -i 0 -n "$rounds" 127.0.0.1 "$port" >/dev/null 2>"$tmp/client.err"
    t1=$(date +%s.%N)
    wait "$spid"
    echo "$t1 - $t0" | bc -l
}

best() {                   # best (smallest) of $repeats runs of "$@"
    local b= t
    for _ in $(seq "$repeats"); do
        t=$("$@")
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}

bare=$(best "$build/bench/pingpong" "$rounds")
quiet=$(best lesson_run -q)
traced=$(best lesson_run "")

printf '\n%d round trips over loopback, best of %d runs (traces to a file)\n\n' "$rounds" "$repeats"
printf '%-28s %12s %14s %8s %8s\n' "program" "seconds" "round trips/s" "ratio" "target"
row() { printf '%-28s %12.3f %14.0f %8.2f %8s\n' "$1" "$2" "$(echo "$rounds / $2" | bc -l)" "$(echo "$bare / $2" | bc -l)" "$3"; }
row "bare C ping-pong" "$bare" "1.00"
row "lesson 06, quiet (-q)" "$quiet" ">= 0.95"
row "lesson 06, traced" "$traced" ">= 0.50"
echo
