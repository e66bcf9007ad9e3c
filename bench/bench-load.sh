#!/usr/bin/env bash
# bench-load.sh - lessons 08, 09 and 10 under many clients at once, beside a
# bare epoll server of the same framed protocol (bench/epoll_baseline.c), in
# one run. Each server runs on CPU 0 and the load client (bench/loadgen.c)
# on CPU 1 (taskset); the servers take turns within each round, so a busy
# moment of the machine hits them all alike; the table shows each one's
# median over the rounds and its ratio to the baseline.
#
# Usage: bench/bench-load.sh BUILD_DIR   (make bench-load)
#   CONNS="10 100 1000"  connections at once, one row each
#   TRIPS=20000          round trips per run (each connection sends TRIPS/C, at least 10)
#   ROUNDS=3             runs of each server at each C
#   C10K=1               also 10,000 connections (lesson 10 and the baseline), 0 to skip
set -euo pipefail
build=${1:-build}
conns_list=${CONNS:-10 100 1000}
trips=${TRIPS:-20000}
rounds=${ROUNDS:-3}
c10k=${C10K:-1}
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

loadgen=$build/bench/loadgen
for f in "$loadgen" "$build/bench/epoll_baseline" "$build/09-poll/server" "$build/10-epoll/server"; do
    [ -x "$f" ] || { echo "bench-load: $f is missing: run make" >&2; exit 1; }
done

# Pin only where there are two CPUs to pin to.
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
    server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); pinned="server on CPU 0, load client on CPU 1"
else
    server_cpu=(); client_cpu=(); pinned="not pinned (taskset missing or one CPU)"
fi

# name|command (PORT is appended)
servers=("baseline|$build/bench/epoll_baseline -q")
notes=()
if [ -x "$build/08-fork/server" ]; then
    servers+=("08-fork|$build/08-fork/server -q")
else
    notes+=("08-fork: not built ($build/08-fork/server missing), row skipped")
fi
servers+=("09-poll|$build/09-poll/server -q" "10-epoll|$build/10-epoll/server -q"
          "10-epoll --edge|$build/10-epoll/server -q --edge")

# One run: a fresh server on port 0, the load client against it; appends
# "name C key=value..." to results.
one_run() {                 # $1 name, $2 command, $3 connections, $4 messages
    local name=$1 cmd=$2 c=$3 m=$4 port= line
    : >"$tmp/server.out"        # exists before the background shell opens it: sed below reads it
    "${server_cpu[@]}" $cmd 0 >"$tmp/server.out" 2>"$tmp/server.err" &
    spid=$!
    for _ in $(seq 500); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/server.out")
        [ -n "$port" ] && break
        sleep 0.01
    done
    if [ -z "$port" ]; then
        echo "bench-load: $name did not start: $(head -3 "$tmp/server.err")" >&2
        line="errors=$c rt_per_s=0"
    else
        line=$("${client_cpu[@]}" "$loadgen" -c "$c" -n "$m" -t 60 127.0.0.1 "$port" 2>>"$tmp/loadgen.err") || true
        [ -n "$line" ] || line="errors=$c rt_per_s=0"
    fi
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
    echo "$name|$c|$line" >>"$tmp/results"
}

runs=()
for c in $conns_list; do
    m=$(( trips / c )); [ "$m" -ge 10 ] || m=10
    runs+=("$c $m")
done
for r in $(seq "$rounds"); do
    for run in "${runs[@]}"; do
        set -- $run
        for s in "${servers[@]}"; do
            one_run "${s%%|*}" "${s#*|}" "$1" "$2"
        done
    done
    echo "bench-load: round $r of $rounds done" >&2
done
if [ "$c10k" = 1 ]; then
    for s in "${servers[@]}"; do
        case "${s%%|*}" in baseline|10-epoll) one_run "${s%%|*}" "${s#*|}" 10000 2 ;; esac
    done
fi

load=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$tmp/results" "$rounds" "$pinned" "$load" "${notes[@]+"${notes[@]}"}" <<'EOF'
import statistics, sys
path, rounds, pinned, load, notes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows = {}
for line in open(path):
    name, c, kv = line.rstrip("\n").split("|", 2)
    d = dict(x.split("=", 1) for x in kv.split() if "=" in x)
    rows.setdefault((name, int(c)), []).append(d)
targets = {("10-epoll", 100): ">= 0.90", ("10-epoll --edge", 100): ">= 0.90", ("09-poll", 100): ">= 0.80"}
print(f"\nmake bench-load: framed round trips over loopback, {pinned}; median of {rounds} interleaved runs"
      f" (C10K: one run); load average at the end {load}\n")
print(f"{'server':16} {'conns':>6} {'msgs':>5} {'rt/s':>9} {'ratio':>6} {'target':>8} {'p50 us':>8} {'p99 us':>8} "
      f"{'accept/s':>9} {'errors':>6}")
order = sorted(rows, key=lambda k: (k[1], ["baseline", "08-fork", "09-poll", "10-epoll", "10-epoll --edge"].index(k[0])))
med = lambda ds, k: statistics.median(float(d.get(k, 0)) for d in ds)
for name, c in order:
    ds = rows[(name, c)]
    base = rows.get(("baseline", c))
    rt = med(ds, "rt_per_s")
    ratio = f"{rt / med(base, 'rt_per_s'):.2f}" if base and med(base, "rt_per_s") else "-"
    errors = sum(int(d.get("errors", 0)) for d in ds)
    print(f"{name:16} {c:6} {ds[0].get('messages', '-'):>5} {rt:9.0f} {ratio:>6} {targets.get((name, c), ''):>8} "
          f"{med(ds, 'p50_us'):8.0f} {med(ds, 'p99_us'):8.0f} {med(ds, 'accept_per_s'):9.0f} {errors:6}")
for n in notes:
    print(f"note: {n}")
print()
EOF
if [ -s "$tmp/loadgen.err" ]; then
    echo "load client errors (first lines):" >&2
    sort "$tmp/loadgen.err" | uniq -c | head -5 >&2
fi
