"""The load generator of `make bench-load` and `make bench-scale`
(bench/loadgen.c) against the concurrent servers: no error at 200 and 1000
connections, ten thousand connections at once against lesson 10 (the C10K
problem), idle connections held beside busy ones, its percentiles, its open
loop (a stalled server shows in the percentiles), and the bench script's
table with its noise marks. Nothing here is timed: the figures are printed;
the error counts, round trips and the order of things are asserted.
"""
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from labharness import BUILD, ROOT


def loadgen():
    path = BUILD / "bench" / "loadgen"
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make' first")
    return path


def load(lab, port, conns, messages, timeout=120, extra=()):
    """Run the load client; return its exit code and its key=value line as a dict."""
    r = lab.run([loadgen(), "-c", str(conns), "-n", str(messages), "-t", "60", *map(str, extra),
                 "127.0.0.1", str(port)], timeout=timeout)
    return r, parse(r.stdout)


def parse(stdout):
    line = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


@pytest.mark.parametrize("mode", [(), ("--edge",)], ids=["level", "edge"])
def test_loadgen_against_lesson_10_with_200_connections_reports_no_error(lab, mode):
    server = lab.server("10-epoll", "-q", *mode)
    r, res = load(lab, server.port, 200, 20)
    assert r.returncode == 0, r
    assert res["errors"] == "0" and res["round_trips"] == "4000", r
    assert float(res["rt_per_s"]) > 0 and float(res["p99_us"]) >= float(res["p50_us"]) > 0, r


def test_loadgen_against_lesson_09_with_1000_connections_reports_no_error(lab):
    server = lab.server("09-poll", "-q")
    r, res = load(lab, server.port, 1000, 5)
    assert r.returncode == 0 and res["errors"] == "0" and res["round_trips"] == "5000", r


def test_loadgen_against_the_baseline_and_lesson_08_with_100_connections(lab):
    base = lab.start([BUILD / "bench" / "epoll_baseline", "-q", "0"])
    port = int(base.wait_for(r"^listening on \S+:(\d+)$").group(1))
    r, res = load(lab, port, 100, 10)
    assert r.returncode == 0 and res["errors"] == "0" and res["round_trips"] == "1000", r
    if not (BUILD / "08-fork" / "server").exists():
        pytest.skip("lesson 08 is not built")
    server = lab.server("08-fork", "-q")
    r, res = load(lab, server.port, 100, 10)
    assert r.returncode == 0 and res["errors"] == "0" and res["round_trips"] == "1000", r


def test_loadgen_counts_a_server_that_hangs_up_as_errors(lab):
    """The load client can fail: a server that closes each connection unanswered gives errors, exit 1."""
    listener, port = lab.listen()
    stop = threading.Event()

    def hang_up():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()
    t = threading.Thread(target=hang_up, daemon=True)
    t.start()
    r, res = load(lab, port, 5, 3, timeout=30)
    stop.set()
    assert r.returncode == 1 and res["errors"] == "5", r
    assert "5 of 5 connections failed" in r.stderr, r.stderr


def test_lesson_10_holds_ten_thousand_connections_and_answers_each(lab):
    """C10K: 10,000 connections open at once against lesson 10 (edge-triggered), each answered."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 10_100:
        pytest.skip(f"the hard RLIMIT_NOFILE is {hard}: 10,000 connections need more (ulimit -Hn)")
    server = lab.server("10-epoll", "-q", "--edge")
    r, res = load(lab, server.port, 10_000, 2, timeout=150)
    assert r.returncode == 0 and res["errors"] == "0" and res["round_trips"] == "20000", r
    assert server.popen.poll() is None, server.stderr


def test_loadgen_reports_percentiles_in_order_and_the_servers_usage(lab):
    """p50 <= p90 <= p99 <= p99.9 <= max, from the histogram; -m PID: the server's memory and CPU."""
    server = lab.server("10-epoll", "-q")
    r, res = load(lab, server.port, 20, 50, extra=["-m", server.pid])
    assert r.returncode == 0 and res["round_trips"] == "1000", r
    p = [float(res[k]) for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")]
    assert 0 < p[0] and p == sorted(p), res
    assert int(res["rss_kib"]) > 0 and float(res["server_cpu_us_per_rt"]) > 0, res
    # Its anonymous memory (heap, stacks) is part of its Pss, and never all of it (libc's code is not anonymous).
    assert 0 < int(res["anon_kib"]) < int(res["rss_kib"]), res


def test_loadgen_holds_idle_connections_beside_the_busy_ones(lab):
    """-I N: N connections answered once, then silent, still open at the end; the busy ones do -d SECONDS."""
    server = lab.server("09-poll", "-q")
    r = lab.run([loadgen(), "-c", "10", "-d", "0.3", "-I", "500", "127.0.0.1", server.port], timeout=60)
    res = parse(r.stdout)
    assert r.returncode == 0 and res["errors"] == "0" and res["idle"] == "500", r
    assert int(res["round_trips"]) > 10, r
    assert server.popen.poll() is None, server.stderr


def test_loadgen_open_loop_sends_on_schedule_whatever_the_replies_do(lab):
    """-r RATE -d SECONDS: the schedule decides how many messages go out (RATE * SECONDS, plus the first of each)."""
    server = lab.server("10-epoll", "-q")
    r = lab.run([loadgen(), "-c", "10", "-d", "1", "-r", "400", "127.0.0.1", server.port], timeout=60)
    res = parse(r.stdout)
    assert r.returncode == 0 and res["errors"] == "0" and res["rate"] == "400", r
    assert res["round_trips"] == str(10 + 400), r


def test_open_loop_latency_counts_a_stall_that_the_closed_loop_hides(lab):
    """Coordinated omission: the server stops for 0.5 s. A closed-loop client waits with it, so only its
    one waiting message is slow and p99 does not see it; the open loop counts every message that was
    due during the stall from when it was due, so p90 does."""
    results = {}
    for mode, extra in (("closed", []), ("open", ["-r", "200"])):
        server = lab.server("10-epoll", "-q")
        gen = lab.start([loadgen(), "-c", "1", "-d", "2", *extra, "127.0.0.1", server.port])
        time.sleep(0.7)
        server.signal(signal.SIGSTOP)
        time.sleep(0.5)
        server.signal(signal.SIGCONT)
        assert gen.wait(30) == 0, gen.stderr
        results[mode] = parse(gen.stdout)
    closed, opened = results["closed"], results["open"]
    assert float(closed["max_us"]) >= 400_000 and float(opened["max_us"]) >= 400_000, results
    assert float(closed["p99_us"]) < 150_000, f"the closed loop's p99 saw the stall: {closed}"
    assert float(opened["p90_us"]) >= 150_000, f"the open loop's p90 hid the stall: {opened}"


SEVERAL_SOURCES = r"""
ip link set lo up
ulimit -Sn 11000 2>/dev/null || ulimit -n 11000 2>/dev/null || exit 77
"$1/10-epoll/server" -q 0 >"$2/server.out" 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 500); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$2/server.out"); [ -n "$port" ] && break; sleep 0.01
done
"$1/bench/loadgen" -c 2 -d 3 -I 10500 -t 120 127.0.0.1 "$port" >"$2/loadgen.out" &
gen=$!
while kill -0 $gen 2>/dev/null; do
    ss -Htn state established "( dport = :$port )" | awk '{print $3}' | sed 's/:[0-9]*$//' | sort -u >>"$2/sources"
    sleep 0.5
done
wait $gen
"""


def test_loadgen_opens_idle_connections_from_several_loopback_addresses(tmp_path):
    """Past 10,000 idle connections, the next ones come from 127.0.0.3: each source address has its own
    ports. In a network namespace of its own, so the host's connection tracking never sees them."""
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs root and unshare -n (10,500 connections in a network namespace of their own)")
    r = subprocess.run(["unshare", "-n", "bash", "-c", SEVERAL_SOURCES, "sh", str(BUILD), str(tmp_path)],
                       capture_output=True, text=True, timeout=200)
    if r.returncode == 77:
        pytest.skip("10,500 connections need RLIMIT_NOFILE above 11,000 (ulimit -Hn)")
    out = (tmp_path / "loadgen.out").read_text()
    assert r.returncode == 0, r.stderr + out
    assert parse(out)["idle"] == "10500" and parse(out)["errors"] == "0", out
    sources = set((tmp_path / "sources").read_text().split())
    assert {"127.0.0.1", "127.0.0.2", "127.0.0.3"} <= sources, sources


def bench(script, env, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), str(BUILD)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def test_bench_load_prints_ratios_with_their_spread_the_machines_load_and_a_verdict():
    """make bench-load's script, cut short: one row per server with its ratio to the baseline and the
    spread of that ratio over the rounds, the load before and after, and a summary line saying OK,
    NOISY or MISSED, with every row that earned a mark named."""
    r = bench("bench-load.py", {"CONNS": "10", "DURATION": "0.2", "ROUNDS": "2", "C10K": "0"})
    assert r.returncode == 0, r.stderr
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^(baseline|08-fork|09-poll|10-epoll(?: --edge)?)\s+10\s+\d+\s+(\d+\.\d\d)\s+(\S+)", r.stdout, re.M)}
    assert rows.get("baseline", ("",))[0] == "1.00", r.stdout
    for name in ("09-poll", "10-epoll", "10-epoll --edge"):
        ratio, spread = rows[name]
        lo, hi = (float(x) for x in spread.split("-"))
        assert lo <= float(ratio) <= hi, f"{name}: the median ratio is outside its spread\n{r.stdout}"
    assert re.search(r"load average [\d.]+ before, [\d.]+ after; CPU steal", r.stdout), r.stdout
    verdict = re.search(r"^bench-load: (OK|NOISY|MISSED|MISSED and NOISY): (\d+ of \d+ targets? met|no target to meet)",
                        r.stdout, re.M)
    assert verdict, r.stdout
    marked = re.findall(r"^(\S+(?: --edge)?)\s+10\s.*\s(noisy|missed|noisy,missed)$", r.stdout, re.M)
    assert (verdict.group(1) == "OK") == (not marked), r.stdout
