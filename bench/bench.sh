#!/usr/bin/env bash
# bench.sh - round trips per second of lesson 06's server and client, quiet
# and traced, beside a bare C ping-pong and the seed's own demo5/demo6 over
# the same loopback, in one run.
# Usage: bench/bench.sh BUILD_DIR   (make bench; ROUNDS=N, REPEATS=N)
#
# On a 2-core machine the scheduler moves a client and a server between the
# CPUs, and the figures swing 3x from run to run. So every pair runs pinned:
# server on CPU 0, client on CPU 1 (taskset), and the variants take turns,
# round after round, so a busy moment hits them all alike. Each ratio is the
# median of the per-round ratios to the bare ping-pong of the same round,
# printed with its spread (min-max); the machine's load and CPU steal are
# read before and after (bench/benchlib.py), and a row is marked noisy
# (spread above 10%, or a busy machine) or missed (below its target).
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
    # Not the last run's file: its port would be read before this server
    # writes its own (a busy machine starts a background job late).
    rm -f "$tmp/out"
    taskset -c "$scpu" "$build/06-close/server" $flags 0 >"$tmp/out" 2>"$tmp/server.err" &
    local spid=$!
    for _ in $(seq 500); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/out" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.01
    done
    t0=$(now)
    if ! taskset -c "$ccpu" "$build/06-close/client" $flags -i 0 -n "$rounds" 127.0.0.1 "$port" \
            >/dev/null 2>"$tmp/client.err"; then
        # The one-client server would wait for its client for ever.
        kill "$spid" 2>/dev/null || true
        echo "bench: lesson 06's client failed (port '${port}'):" >&2
        tail -n 3 "$tmp/client.err" >&2
        exit 1
    fi
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
times >"$tmp/cpu_before"     # CPU time of this shell and its children so far
python3 "$root/bench/benchlib.py" snapshot >"$tmp/before"
for r in $(seq "$repeats"); do
    for v in $variants; do
        t=$("${v}_run")            # a failed run stops the bench (set -e)
        echo "$r $v $t" >>"$tmp/times"
    done
done
python3 "$root/bench/benchlib.py" snapshot >"$tmp/after"
times >"$tmp/cpu_after"

[ "$have_seed" = 1 ] || echo "(seed demo5/demo6: g++ is missing, row skipped)"
python3 - "$root/bench" "$tmp" "$rounds" "$repeats" "$scpu" "$ccpu" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
import benchlib
tmp, trips, repeats, scpu, ccpu = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
before, after = (json.load(open(f"{tmp}/{n}")) for n in ("before", "after"))
before["own_cpu"], after["own_cpu"] = (benchlib.read_times(open(f"{tmp}/cpu_{n}").read()) for n in ("before", "after"))
mach = benchlib.machine(before, after)
times = {}
for line in open(f"{tmp}/times"):
    r, v, t = line.split()
    times.setdefault(v, {})[int(r)] = float(t)
rows = [("bare", "bare C ping-pong", None), ("seed", "seed demo5/demo6 (no sleep)", None),
        ("quiet", "lesson 06, quiet (-q)", 0.80), ("traced", "lesson 06, traced", 0.75)]
print(f"\n{trips} round trips over loopback, server on CPU {scpu}, client on CPU {ccpu},")
print(f"{benchlib.plural(repeats, 'interleaved round')} (traces to a file): medians, and the spread (min-max) of each ratio;")
print(f"the machine: {mach['words']}\n")
print(f"{'program':32} {'seconds':>8} {'round trips/s':>14} {'ratio':>6} {'spread':>11} {'target':>8}  mark")
marks = []
for v, label, target in rows:
    if v not in times:
        continue
    secs = benchlib.spread(list(times[v].values()))[0]
    ratio, lo, hi, rel = benchlib.spread([times["bare"][r] / t for r, t in times[v].items() if t > 0])
    own = v == "bare"
    if own:     # the row the others are compared with: how much its own rate moved
        rel = benchlib.spread([trips / t for t in times[v].values()])[3]
    missed = target is not None and ratio < target
    mark = benchlib.mark(rel, mach["busy"], missed, repeats)
    print(f"{label:32} {secs:8.3f} {trips / secs:14.0f} {ratio:6.2f} "
          f"{benchlib.spread_words(lo, hi, rel, repeats, own):>11} {'>= %.2f' % target if target else '-':>8}  {mark}")
    marks.append({"label": label, "marks": mark, "target": target, "spread": rel,
                  "figure": f"{ratio:.2f} < {target:.2f}" if missed else ""})
print("\n" + benchlib.summary("bench", marks, mach, repeats))
EOF
echo
