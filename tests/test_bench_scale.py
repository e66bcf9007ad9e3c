"""make bench-scale, cut short: its CSV has the contract's columns, numbers
in every cell and a row per server and idle count with zero errors; its SVG
is one well-formed, self-contained picture with a line per server; and the
table says OK, NOISY or MISSED. Nothing here is timed (CI runs the bench as
a smoke test: figures from a shared machine are not asserted).
"""
import csv
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from labharness import BUILD, ROOT

pytestmark = pytest.mark.slow

COLUMNS = ["server", "idle", "active", "rt_per_s", "p50_us", "p99_us", "p999_us", "errors", "rss_kib"]
SERVERS = {"09-poll": "09-poll", "10-epoll": "10-epoll", "10-epoll-edge": "10-epoll --edge",
           "baseline": "baseline"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One short bench-scale: 0 and 300 idle connections, four servers, one round."""
    if not (BUILD / "bench" / "loadgen").exists():
        pytest.fail(f"{BUILD}/bench/loadgen is missing: run 'make' first")
    out = tmp_path_factory.mktemp("scale")
    env = {**os.environ, "IDLE": "0 300", "SERVERS": " ".join(SERVERS), "ACTIVE": "20",
           "DURATION": "0.3", "ROUNDS": "1", "OUT": str(out)}
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench-scale.py"), str(BUILD)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    return r, out


def test_bench_scale_writes_the_contracts_columns_with_numbers_and_no_errors(tiny_run):
    r, out = tiny_run
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out / "scale.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, row)) for row in reader]
    assert header == COLUMNS
    assert {(row["server"], row["idle"]) for row in rows} == {(s, n) for s in SERVERS.values() for n in ("0", "300")}
    for row in rows:
        for col in COLUMNS[1:]:
            assert re.fullmatch(r"\d+", row[col]), f"{col} is not a whole number: {row}"
        assert row["errors"] == "0" and row["active"] == "20", row
        assert int(row["rt_per_s"]) > 0 and int(row["rss_kib"]) > 0, row
        assert int(row["p50_us"]) <= int(row["p99_us"]) <= int(row["p999_us"]), row


def test_bench_scale_draws_one_self_contained_svg_with_a_line_per_server(tiny_run):
    r, out = tiny_run
    assert r.returncode == 0, r.stdout + r.stderr
    text = (out / "scale.svg").read_text()
    root = ET.fromstring(text)                  # well formed, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # Self-contained: no script, no image, no stylesheet or font fetched from elsewhere.
    assert not re.search(r"<script|<image|@import|url\((?!#)|href=[\"'](?!#)", text), "the SVG refers to other files"
    words = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for name in SERVERS.values():
        assert name in words, f"no line for {name} in the legend: {words}"
    assert "round trips per second" in words and "p99" in words, words


def test_bench_scale_prints_the_memory_per_idle_connection_and_a_verdict(tiny_run):
    r, _ = tiny_run
    # Signed: on a busy machine a few pages may come and go (then the row says noisy).
    m = re.search(r"^\s+10-epoll\s+(-?\d+) bytes \(.*?(noisy)?$", r.stdout, re.M)
    assert m, r.stdout
    assert (int(m.group(1)) < 0) == bool(m.group(2)), m.group(0)
    assert re.search(r"^bench-scale: (OK|NOISY|MISSED|MISSED and NOISY): \d+ of \d+ targets? met", r.stdout, re.M), r.stdout
    assert re.search(r"load average [\d.]+ before, [\d.]+ after; CPU steal", r.stdout), r.stdout


def test_a_row_noisy_for_its_own_reason_says_why_and_the_idle_machine_is_not_blamed():
    """A memory figure below zero is noise on an idle machine too: the closing lines name the row and
    the reason, and do not blame the spread of rounds that was not wide."""
    sys.path.insert(0, str(ROOT / "bench"))
    import benchlib
    rows = [{"label": "10-epoll at 300 idle", "marks": "", "target": 0.9, "figure": "", "spread": 0.02},
            {"label": "10-epoll memory", "marks": "noisy", "target": 1.0, "figure": "", "spread": 0,
             "why": "less memory with 300 idle than with 0"}]
    text = benchlib.summary("bench-scale", rows, {"busy": False, "why": ""}, 3)
    assert text.splitlines()[0] == "bench-scale: NOISY: 2 of 2 targets met, 0 rows missed, 1 of 2 rows noisy", text
    assert "  noisy: 10-epoll memory: less memory with 300 idle than with 0" in text.splitlines(), text
    assert "spread" not in text and "jitter" not in text, text


def test_cpu_outside_our_children_is_not_blamed_on_other_processes():
    """Work that ran in containers or sandboxes is not in our children's CPU times: the machine's busy
    CPU then says nothing of other processes, and only a load average over half the CPUs before the run
    marks it busy. Where our own is known, what it does not cover is the others' share."""
    sys.path.insert(0, str(ROOT / "bench"))
    import benchlib
    before = {"load1": 0.1, "total": 0, "idle": 0, "steal": 0, "own_cpu": 0.0}
    hz = os.sysconf("SC_CLK_TCK")
    after = {"load1": 0.5, "total": 1000, "idle": 200, "steal": 0, "own_cpu": 200 / hz}
    known = benchlib.machine(before, after)
    assert abs(known["others"] - 0.6) < 1e-9 and known["busy"], known
    unknown = benchlib.machine(before, after, own_unknown="the work ran in sandboxes")
    assert unknown["others"] is None and not unknown["busy"], unknown
    assert unknown["words"].endswith("other processes not known (the work ran in sandboxes)"), unknown
    loaded = benchlib.machine({**before, "load1": benchlib.cpus()}, after, own_unknown="the work ran in containers")
    assert loaded["busy"] and "load average" in loaded["why"], loaded


def test_bench_scale_refuses_an_unknown_server_with_exit_2():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench-scale.py"), str(BUILD)], cwd=ROOT,
                       env={**os.environ, "SERVERS": "11-io_uring"}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "11-io_uring" in r.stderr, r


def test_make_help_names_bench_scale():
    r = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "make bench-scale" in r.stdout, r.stdout
