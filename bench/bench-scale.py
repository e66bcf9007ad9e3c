#!/usr/bin/env python3
"""bench-scale.py - why epoll exists: a fixed number of busy clients while
N idle connections are held open to the same server, for each server and N.
poll() hands the kernel every connection on every call, so its rate falls as
1/N; epoll_wait() returns only the ready ones, so its rate stays flat.

For each server and each N: a fresh server (pinned to CPU 0, its fd limit
raised to fit), the load client (bench/loadgen.c, pinned to CPU 1) opens N
idle connections (each answered once, then silent; from 127.0.0.2, .3, ...
for the ports), then ACTIVE connections do framed round trips for DURATION
seconds. Rounds are interleaved; each row is the median of its rounds, its
ratio the median of (rate at N / rate at 0 idle) within each round, with
their spread (min-max). Writes BUILD/bench/scale.csv and, with gnuplot,
BUILD/bench/scale.svg; prints a table, the server's memory per idle
connection, the machine's load, and the noisy/missed marks.

Usage: bench/bench-scale.py BUILD_DIR   (make bench-scale)
  IDLE="0 1000 10000 50000"   idle connections, one row each (100000 where root may raise the fd limit)
  SERVERS="08-fork 09-poll 10-epoll 10-epoll-edge baseline"
  ACTIVE=100  DURATION=2  ROUNDS=3
  FORK_MAX=10000              the largest N for 08-fork (a process per connection)
  OUT=DIR                     where scale.csv and scale.svg go (default BUILD_DIR/bench)
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

SERVER_NAMES = {"08-fork": "08-fork", "09-poll": "09-poll", "10-epoll": "10-epoll",
                "10-epoll-edge": "10-epoll --edge", "baseline": "baseline"}
# Each server's line in the plot: colour, dash type (1 solid, 2 dashed).
STYLES = {"08-fork": ("#9400d3", 1), "09-poll": ("#d62728", 1), "10-epoll": ("#1f77b4", 1),
          "10-epoll --edge": ("#17becf", 2), "baseline": ("#555555", 2)}
COLUMNS = ["server", "idle", "active", "rt_per_s", "p50_us", "p99_us", "p999_us", "errors", "rss_kib"]
# Lesson 10 keeps this share of its rate at 0 idle, with every N.
FLAT_TARGET = 0.90
# Lesson 10's memory per idle connection (user space), at most.
MEMORY_TARGET_KIB = 1.0


def one_run(build, name, idle, env, pin):
    """One server with `idle` idle connections and the active ones: figures."""
    limit = benchlib.fd_prefix(idle + env["active"] + 64)
    server = benchlib.Server(benchlib.server_command(build, name), limit + pin[0])
    if server.port is None:
        server.stop()
        return {"errors": float(idle + env["active"]), "rt_per_s": 0.0}, server.error
    try:
        res, err = benchlib.loadgen(build, ["-c", env["active"], "-d", env["duration"], "-I", idle,
                                            "-m", server.pid, "-t", env["timeout"]],
                                    server.port, limit + pin[1], timeout=env["timeout"] + 60)
    finally:
        server.stop()
    return res, err.strip().splitlines()[0] if err.strip() else ""


def plot(rows, svg, servers, note=""):
    """scale.svg with gnuplot: round trips/s, p99 and the server's CPU time
    per round trip against idle connections, one line per server; idle 0
    sits at the left of the log axis. `note` goes under the title (why
    the figures are noisy, when they are)."""
    if shutil.which("gnuplot") is None:
        return "gnuplot is missing (apt-get install gnuplot-nox): no " + str(svg)
    nonzero = sorted({r["idle"] for r in rows if r["idle"] > 0})
    zero_at = nonzero[0] / 10 if nonzero else 1
    xmax = (nonzero[-1] if nonzero else 10) * 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    plots = {"rt": [], "p99": [], "cpu": []}
    for i, s in enumerate(servers):
        data = [r for r in rows if r["server"] == s and r["rt_per_s"] > 0]
        if not data:
            continue
        f = tmp / f"s{i}.dat"
        f.write_text("".join(f"{r['idle'] or zero_at} {r['rt_per_s']} {r['p99_us'] / 1000} {r['cpu_us']}\n"
                             for r in sorted(data, key=lambda r: r["idle"])))
        title = s + (" (bare epoll)" if s == "baseline" else "")
        color, dash = STYLES.get(s, ("#000000", 1))
        style = f"with linespoints lw 2 pt 7 ps 0.8 lc rgb '{color}' dt {dash} title '{title}'"
        for column, key in ((2, "rt"), (3, "p99"), (4, "cpu")):
            plots[key].append(f"'{f}' using 1:{column} {style}")
    tics = ", ".join([f'"0" {zero_at}'] + [f'"{n:,}" {n}' for n in nonzero])
    script = f"""
set terminal svg size 900,1050 font 'sans,12' background '#ffffff'
set output '{svg}'
set multiplot layout 3,1 title "make bench-scale: {rows[0]["active"]} busy clients beside N idle connections{note}"
set lmargin 12
set rmargin 26
set key at screen 0.99, graph 1 right top
set logscale x
set xrange [{zero_at / 2}:{xmax}]
set xtics ({tics})
set grid
set format y '%.0f'
set ylabel 'round trips per second'
set yrange [0:*]
plot {", ".join(plots["rt"])}
set ylabel 'p99 latency (ms)'
set logscale y
set yrange [*:*]
set format y '%g'
plot {", ".join(plots["p99"])}
set ylabel "server CPU per round trip (us)"
set xlabel 'idle connections held open (log scale)'
plot {", ".join(plots["cpu"])}
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.strip()[:300]
    return None


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    where = benchlib.in_private_netns([sys.executable] + sys.argv)
    idle_list = [int(n) for n in (os.environ.get("IDLE") or "0 1000 10000 50000").split()]
    tokens = (os.environ.get("SERVERS") or "08-fork 09-poll 10-epoll 10-epoll-edge baseline").split()
    unknown = [t for t in tokens if t not in SERVER_NAMES]
    if unknown or not idle_list or min(idle_list) < 0:
        print(f"bench-scale: unknown server {' '.join(unknown)} (known: {' '.join(SERVER_NAMES)})"
              if unknown else "bench-scale: IDLE must be numbers >= 0", file=sys.stderr)
        return 2
    env = {"active": int(os.environ.get("ACTIVE") or 100), "duration": float(os.environ.get("DURATION") or 2),
           "timeout": 600}
    rounds = int(os.environ.get("ROUNDS") or 3)
    fork_max = int(os.environ.get("FORK_MAX") or 10000)
    servers = [SERVER_NAMES[t] for t in tokens]
    notes = []
    for s in list(servers):
        path = benchlib.server_command(build, s)[0]
        if not os.access(path, os.X_OK):
            notes.append(f"{s}: {path} is missing (run make), skipped")
            servers.remove(s)
    if not os.access(f"{build}/bench/loadgen", os.X_OK):
        print(f"bench-scale: {build}/bench/loadgen is missing: run make", file=sys.stderr)
        return 1
    # Each connection is an fd in the server and one in the load client.
    reachable = (benchlib.fd_ceiling() - env["active"] - 64) // 100 * 100
    wanted = sorted(set(idle_list))
    idle_list = sorted({min(n, reachable) for n in wanted})
    if idle_list != wanted:
        notes.append(f"IDLE {' '.join(str(n) for n in wanted if n > reachable)}: at most {reachable:,} idle here "
                     f"(a process may open {benchlib.fd_ceiling():,} fds: the hard RLIMIT_NOFILE, which "
                     f"only a process with CAP_SYS_RESOURCE raises), so {reachable:,} instead")
    plan = []
    for n in idle_list:
        for s in servers:
            if s == "08-fork" and n > fork_max:
                notes.append(f"08-fork: {n:,} idle skipped: a process per connection; FORK_MAX={fork_max}")
            else:
                plan.append((s, n))
    pin = benchlib.pinning()

    results, errors_seen = {}, []
    before = benchlib.snapshot()
    for r in range(rounds):
        for s, n in plan[r % len(plan):] + plan[:r % len(plan)] if plan else []:
            res, err = one_run(build, s, n, env, pin)
            results.setdefault((s, n), []).append(res)
            if err:
                errors_seen.append(f"{s} at {n:,} idle: {err}")
        print(f"bench-scale: round {r + 1} of {rounds} done", file=sys.stderr, flush=True)
    after = benchlib.snapshot()
    mach = benchlib.machine(before, after)

    out_dir = Path(os.environ.get("OUT") or Path(build) / "bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, marks_rows = [], []
    print(f"\nmake bench-scale: {env['active']} busy clients (framed round trips, {env['duration']:g} s per run) "
          f"beside N idle connections;\n{pin[2]},\n{where};\n{benchlib.plural(rounds, 'interleaved round')}: "
          f"medians, and the spread (min-max) of each ratio;\nthe machine: {mach['words']}\n")
    print(f"{'server':16} {'idle':>7} {'rt/s':>8} {'vs 0 idle':>9} {'spread':>11} {'target':>7} {'p50 us':>8} "
          f"{'p99 us':>8} {'p99.9 us':>9} {'cpu us/rt':>9} {'rss KiB':>8} {'errors':>6}  mark")
    for s in servers:
        ns = sorted(n for (s2, n) in plan if s2 == s)
        base_n = ns[0] if ns else 0
        for n in ns:
            runs = results[(s, n)]
            med = lambda k: benchlib.spread([d.get(k, 0.0) for d in runs])[0]  # noqa: E731
            ratios = [a["rt_per_s"] / b["rt_per_s"] for a, b in zip(runs, results[(s, base_n)])
                      if b.get("rt_per_s")]
            ratio, lo, hi, rel = benchlib.spread(ratios)
            if n == base_n:
                rel = benchlib.spread([d.get("rt_per_s", 0.0) for d in runs])[3]
            errors = int(sum(d.get("errors", 0) for d in runs))
            held = min(int(d.get("idle", 0)) for d in runs)
            errors += n - held if held < n and errors == 0 else 0
            target = FLAT_TARGET if s.startswith("10-epoll") and n > base_n else None
            missed = errors > 0 or (target is not None and ratio < target)
            marks = benchlib.mark(rel, mach["busy"], missed, rounds)
            row = {"server": s, "idle": n, "active": env["active"], "rt_per_s": round(med("rt_per_s")),
                   "p50_us": round(med("p50_us")), "p99_us": round(med("p99_us")),
                   "p999_us": round(med("p999_us")), "errors": errors, "rss_kib": round(med("rss_kib")),
                   "anon_kib": round(med("anon_kib")) if all("anon_kib" in d for d in runs) else None,
                   "cpu_us": round(med("server_cpu_us_per_rt"), 2)}
            rows.append(row)
            spread_text = benchlib.spread_words(lo, hi, rel, rounds, n == base_n)
            print(f"{s:16} {n:7} {row['rt_per_s']:8} {ratio:9.2f} {spread_text:>11} "
                  f"{'>= %.2f' % target if target else '':>7} {row['p50_us']:8} {row['p99_us']:8} "
                  f"{row['p999_us']:9} {row['cpu_us']:9.2f} {row['rss_kib']:8} {errors:6}  {marks}")
            figure = (f"{ratio:.2f} of its rate at {base_n} idle, below {target:.2f}"
                      if target and ratio < target else f"{errors} errors")
            marks_rows.append({"label": f"{s} at {n:,} idle", "marks": marks, "target": target,
                               "figure": figure, "spread": rel})

    # Per idle connection: the server's anonymous memory (heap, stacks) at
    # the largest N less at the smallest, over the difference in N. Not its
    # Pss: the share of libc's pages it is charged for moves with how many
    # other programs map them, and that swamps a few bytes per connection.
    print("\nthe server's memory per idle connection (its anonymous memory, heap and stacks, at the "
          "largest N less at the smallest, over the difference in N; a page is 4 KiB):")
    for s in servers:
        mine = sorted((r for r in rows if r["server"] == s), key=lambda r: r["idle"])
        if len(mine) < 2 or mine[-1]["idle"] == mine[0]["idle"]:
            continue
        key = "anon_kib" if all(r.get("anon_kib") is not None for r in mine) else "rss_kib"
        span = mine[-1]["idle"] - mine[0]["idle"]
        per = (mine[-1][key] - mine[0][key]) / span
        page = 4096 / span              # what one page more or less moves the figure by
        target = MEMORY_TARGET_KIB if s.startswith("10-epoll") else None
        missed = target is not None and per > target
        # Less memory with more connections is no saving: pages came and went
        # for other reasons (glibc gave some back) and the figure is noise.
        why = (f"less memory with {mine[-1]['idle']:,} idle than with {mine[0]['idle']:,}: pages came "
               f"and went for other reasons, and the figure says nothing") if per < 0 else ""
        marks = ",".join(m for m, on in (("noisy", why), ("missed", missed)) if on)
        print(f"  {s:16} {per * 1024:8.0f} bytes ({mine[0][key]:,} KiB at {mine[0]['idle']:,} idle, "
              f"{mine[-1][key]:,} KiB at {mine[-1]['idle']:,}; a page more or less: ±{page:.{1 if page < 10 else 0}f} bytes)"
              f"{'  target <= 1 KiB' if target else ''}  {marks}")
        marks_rows.append({"label": f"{s} memory", "marks": marks, "target": target, "why": why,
                           "figure": f"{per * 1024:.0f} bytes per idle connection, above 1 KiB"})

    csv_path, svg_path = out_dir / "scale.csv", out_dir / "scale.svg"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    note = f"\\nnoisy: {mach['why']}" if mach["busy"] else ""
    problem = plot(rows, svg_path.resolve(), servers, note.replace('"', "'")) if rows else "no rows to plot"
    for n in notes:
        print(f"note: {n}")
    for e in sorted(set(errors_seen))[:5]:
        print(f"load client: {e}")
    print(f"\nwrote {csv_path}" + (f" and {svg_path}" if not problem else ""))
    print(benchlib.summary("bench-scale", marks_rows, mach, rounds))
    if problem:
        print(f"bench-scale: {problem}", file=sys.stderr)
        return 1
    if any(r["errors"] for r in rows):
        print("bench-scale: a server failed some of its clients (see the errors column)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
