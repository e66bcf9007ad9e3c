#!/usr/bin/env python3
"""bench-load.py - lessons 08, 09 and 10 under many clients at once, beside
a bare epoll server of the same framed protocol (bench/epoll_baseline.c).

Each server runs on CPU 0 and the load client (bench/loadgen.c) on CPU 1
(taskset); in each round every server runs once at each number of clients,
in an order that turns from round to round, so a busy moment of the machine
hits them all alike. Each row shows its median over the rounds; its ratio
is the median of the per-round ratios to the baseline of the same round,
with their spread (min-max). A row is `noisy` when that spread passes 10%
or the machine was busy (load, steal, other processes: read before and
after), `missed` when it misses its target. As root it runs in a network
namespace of its own (no firewall or conntrack on the loopback path).

Usage: bench/bench-load.py BUILD_DIR   (make bench-load)
  CONNS="10 100 1000"  connections at once, one row each
  DURATION=1           seconds of round trips in each run
  ROUNDS=3             runs of each server at each number of connections
  C10K=1               also 10,000 connections (09 and 10 and the baseline), 0 to skip
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

SERVERS = ["baseline", "08-fork", "09-poll", "10-epoll", "10-epoll --edge"]
C10K_SERVERS = ["baseline", "09-poll", "10-epoll", "10-epoll --edge"]
# (server, connections): the lowest ratio to the baseline we accept. --edge
# reads each client until recv() says EAGAIN: one more recv() per wake-up
# than level-triggered, about 10% more CPU per round trip, by design.
TARGETS = {("09-poll", 100): 0.80, ("10-epoll", 100): 0.90, ("10-epoll --edge", 100): 0.80,
           ("10-epoll", 10000): 0.90}


def one_run(build, name, conns, duration, pin):
    """A fresh server, the load client against it: the load client's figures."""
    limit = benchlib.fd_prefix(conns + 64)
    if limit is None:
        return {"errors": conns, "rt_per_s": 0.0, "skipped": f"RLIMIT_NOFILE below {conns + 64}"}, ""
    server = benchlib.Server(benchlib.server_command(build, name), limit + pin[0])
    if server.port is None:
        server.stop()
        return {"errors": conns, "rt_per_s": 0.0}, server.error + "\n"
    try:
        return benchlib.loadgen(build, ["-c", conns, "-d", duration, "-m", server.pid, "-t", 300],
                                server.port, limit + pin[1])
    finally:
        server.stop()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    where = benchlib.in_private_netns([sys.executable] + sys.argv)
    conns_list = [int(c) for c in (os.environ.get("CONNS") or "10 100 1000").split()]
    duration = float(os.environ.get("DURATION") or 1)
    rounds = int(os.environ.get("ROUNDS") or 3)
    c10k = (os.environ.get("C10K") or "1") == "1"
    for f in ("bench/loadgen", "bench/epoll_baseline", "09-poll/server", "10-epoll/server"):
        if not os.access(f"{build}/{f}", os.X_OK):
            print(f"bench-load: {build}/{f} is missing: run make", file=sys.stderr)
            return 1
    servers = [s for s in SERVERS if s != "08-fork" or os.access(f"{build}/08-fork/server", os.X_OK)]
    notes = [] if "08-fork" in servers else [f"08-fork: not built ({build}/08-fork/server missing), rows skipped"]
    pin = benchlib.pinning()
    plan = [(c, s) for c in conns_list for s in servers]
    if c10k:
        plan += [(10000, s) for s in C10K_SERVERS if s in servers]

    results, errors_seen = {}, []
    before = benchlib.snapshot()
    for r in range(rounds):
        # Turn the order each round: no server always runs first, or last.
        for c, s in plan[r % len(plan):] + plan[:r % len(plan)]:
            res, err = one_run(build, s, c, duration, pin)
            results.setdefault((s, c), []).append(res)
            errors_seen += err.strip().splitlines()[:1]
        print(f"bench-load: round {r + 1} of {rounds} done", file=sys.stderr)
    after = benchlib.snapshot()
    mach = benchlib.machine(before, after)

    print(f"\nmake bench-load: framed round trips over loopback, {pin[2]},\n{where};\n"
          f"{duration:g} s per run, {benchlib.plural(rounds, 'interleaved round')}: medians, and the spread (min-max) of each ratio;\n"
          f"the machine: {mach['words']}\n")
    print(f"{'server':16} {'conns':>6} {'rt/s':>8} {'ratio':>6} {'spread':>11} {'target':>7} {'p50 us':>8} "
          f"{'p99 us':>8} {'p99.9 us':>9} {'cpu us/rt':>9} {'accept/s':>8} {'errors':>6}  mark")
    rows = []
    for c, s in sorted(dict.fromkeys(plan), key=lambda k: (k[0], SERVERS.index(k[1]))):
        runs, base = results[(s, c)], results.get(("baseline", c))
        med = lambda k: benchlib.spread([d.get(k, 0.0) for d in runs])[0]  # noqa: E731
        ratios = [a["rt_per_s"] / b["rt_per_s"] for a, b in zip(runs, base or []) if b.get("rt_per_s")]
        ratio, lo, hi, rel = benchlib.spread(ratios) if s != "baseline" else (1.0, 1.0, 1.0, 0.0)
        if s == "baseline":     # its own spread: how much the rate moved
            rel = benchlib.spread([d.get("rt_per_s", 0.0) for d in runs])[3]
        errors = int(sum(d.get("errors", 0) for d in runs))
        target = TARGETS.get((s, c))
        missed = errors > 0 or (target is not None and ratio < target)
        marks = benchlib.mark(rel, mach["busy"], missed, rounds)
        spread_text = benchlib.spread_words(lo, hi, rel, rounds, s == "baseline")
        print(f"{s:16} {c:6} {med('rt_per_s'):8.0f} {ratio:6.2f} {spread_text:>11} "
              f"{'>= %.2f' % target if target else '':>7} {med('p50_us'):8.0f} {med('p99_us'):8.0f} "
              f"{med('p999_us'):9.0f} {med('server_cpu_us_per_rt'):9.2f} {med('accept_per_s'):8.0f} "
              f"{errors:6}  {marks}")
        figure = f"{ratio:.2f} < {target:.2f}" if target and ratio < target else f"{errors} errors"
        rows.append({"label": f"{s} at {c}", "marks": marks, "target": target, "figure": figure, "spread": rel})
    for n in notes:
        print(f"note: {n}")
    if errors_seen:
        print("load client errors (first lines): " + "; ".join(sorted(set(errors_seen))[:5]))
    print("\n" + benchlib.summary("bench-load", rows, mach, rounds))
    if any(int(sum(d.get("errors", 0) for d in runs)) for runs in results.values()):
        print("bench-load: a server failed some of its clients (see the errors column)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
