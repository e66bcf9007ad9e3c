"""The load generator of `make bench-load` (bench/loadgen.c) against the
concurrent servers: no error at 200 and 1000 connections, ten thousand
connections at once against lesson 10 (the C10K problem), and the bench
script's table. Nothing here is timed: the figures are printed, only the
error counts and the round trips are asserted.
"""
import os
import re
import resource
import subprocess
import threading

import pytest

from labharness import BUILD, ROOT


def loadgen():
    path = BUILD / "bench" / "loadgen"
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make' first")
    return path


def load(lab, port, conns, messages, timeout=120):
    """Run the load client; return its exit code and its key=value line as a dict."""
    r = lab.run([loadgen(), "-c", str(conns), "-n", str(messages), "-t", "60", "127.0.0.1", str(port)],
                timeout=timeout)
    line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return r, dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


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


def test_bench_load_prints_one_table_with_ratios_to_the_baseline(tmp_path):
    """make bench-load's script, cut short: one row per server with a ratio to the baseline."""
    r = subprocess.run(["bash", str(ROOT / "bench" / "bench-load.sh"), str(BUILD)], cwd=ROOT,
                       env={**os.environ, "CONNS": "10", "TRIPS": "200", "ROUNDS": "1", "C10K": "0"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^(baseline|08-fork|09-poll|10-epoll(?: --edge)?)\s+10\s+\d+\s+\d+\s+(\S+)",
                                                      r.stdout, re.M)}
    assert rows.get("baseline") == "1.00", r.stdout
    for name in ("09-poll", "10-epoll", "10-epoll --edge"):
        assert re.fullmatch(r"\d+\.\d\d", rows.get(name, "")), f"{name}: no ratio\n{r.stdout}"
    assert " 0\n" in r.stdout and "errors" in r.stdout, r.stdout
