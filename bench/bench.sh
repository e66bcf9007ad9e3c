#!/usr/bin/env bash
# bench.sh - round trips per second of lesson 06's server and client, quiet
# and traced, beside a bare C ping-pong and the seed's own demo5/demo6 over
# the same loopback, in one run.
# Usage: bench/bench.sh BUILD_DIR   (make bench; ROUNDS=N, REPEATS=N)
#
# On a 2-core machine the scheduler moves a client and a server between the
# CPUs, and the figures swing 3x from run to run. So every pair runs pinned:
# server on CPU 0, client on CPU 1 (taskset), and the variants take turns,
# round after round, so a busy moment hits them all alike; each row is the
# best of its rounds, and the ratios compare figures of this one run.
set -euo pipefail
build=${1:-build}
rounds=${ROUNDS:-20000}
repeats=${REPEATS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT
scpu=0 ccpu=1
[ "$(nproc)" -ge 2 ] || ccpu=0         # one CPU: both sides on it
now() { date +%s.%N; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Wait until port $1 is in LISTEN (/proc/net/tcp, hex), without connecting:
# the seed's demo6 serves exactly one client.
wait_listen() {
    local hex
    hex=$(printf '%04X' "$1")
    for _ in $(seq 500); do
        awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {found=1} END {exit !found}' /proc/net/tcp && return 0
        sleep 0.01
    done
    echo "bench: nothing listens on port $1" >&2
    return 1
}

# The seed's demo5/demo6, as the seed wrote them but for demo5's sleep(1)
# after each message and its count of ten: ROUNDS messages, no pause.
build_seed() {
    sed -e 's/sleep(1);//' -e "s/ii<10;/ii<$rounds;/" "$root/tests/seed/demo5.cpp" > "$tmp/demo5.cpp"
    g++ -O2 -w -o "$tmp/demo5" "$tmp/demo5.cpp"
    g++ -O2 -w -o "$tmp/demo6" "$root/tests/seed/demo6.cpp"
}

# One lesson-06 run: server on port 0, client sends $rounds messages with no
# pause; the time is the client's whole run (connect to close).
lesson_run() {             # $1: extra flags ("-q" or ""), prints seconds
    local flags=$1 port= t0 t1
    taskset -c "$scpu" "$build/06-close/server" $flags 0 >"$tmp/out" 2>"$tmp/server.err" &
    local spid=$!
    for _ in $(seq 500); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
        [ -n "$port" ] && break
        sleep 0.01
    done
    t0=$(now)
    taskset -c "$ccpu" "$build/06-close/client" $flags -i 0 -n "$rounds" 127.0.0.1 "$port" >/dev/null 2>"$tmp/client.err"
    t1=$(now)
    wait "$spid"
    echo "$t1 - $t0" | bc -l
}

seed_run() {
    local port t0 t1
    port=$(free_port)
    taskset -c "$scpu" "$tmp/demo6" "$port" >/dev/null 2>&1 &
    local spid=$!
    wait_listen "$port"
    t0=$(now)
    taskset -c "$ccpu" "$tmp/demo5" 127.0.0.1 "$port" >/dev/null 2>&1
    t1=$(now)
    wait "$spid" || true
    echo "$t1 - $t0" | bc -l
}

bare_run() { "$build/bench/pingpong" "$rounds" "$scpu" "$ccpu"; }
quiet_run() { lesson_run -q; }
traced_run() { lesson_run ""; }

have_seed=0
if command -v g++ >/dev/null && build_seed; then have_seed=1; fi
variants="bare quiet traced"
[ "$have_seed" = 1 ] && variants="bare seed quiet traced"
declare -A best
for _ in $(seq "$repeats"); do
    for v in $variants; do
        t=$("${v}_run")
        if [ -z "${best[$v]:-}" ] || [ "$(echo "$t < ${best[$v]}" | bc -l)" = 1 ]; then best[$v]=$t; fi
    done
done

bare=${best[bare]}
printf '\n%d round trips over loopback, server on CPU %s, client on CPU %s,\n' "$rounds" "$scpu" "$ccpu"
printf 'best of %d interleaved runs (traces to a file)\n\n' "$repeats"
printf '%-34s %10s %14s %8s %8s\n' "program" "seconds" "round trips/s" "ratio" "target"
row() { printf '%-34s %10.3f %14.0f %8.2f %8s\n' "$1" "$2" "$(echo "$rounds / $2" | bc -l)" "$(echo "$bare / $2" | bc -l)" "$3"; }
row "bare C ping-pong" "$bare" "1.00"
[ "$have_seed" = 1 ] && row "seed demo5/demo6 (no sleep)" "${best[seed]}" "-"
[ "$have_seed" = 1 ] || echo "(seed demo5/demo6: g++ is missing, row skipped)"
row "lesson 06, quiet (-q)" "${best[quiet]}" ">= 0.80"
row "lesson 06, traced" "${best[traced]}" ">= 0.50"
echo
