"""test_compose_logs.py - `compose logs` on a projector: Chinese intact, each container in order.

Compose v1 read a tty container's log one byte at a time and decoded each byte alone
(docker-py's raw stream for tty containers, then compose's per-chunk UTF-8 decode), so
`docker-compose logs` showed each Chinese character of the data lines as three U+FFFD.
compose.yaml gives the containers no tty; the trace (stderr) joins the data lines
(stdout) in one pipe, so a container's lines keep the order the program wrote them.
Across the two containers, `logs -t | sort -s -k 3,3` orders lines by Docker's timestamp
of each. LAB_TRACE reaches both programs. Runs with Compose v2 and v1, whichever are
installed; each test in its own compose project (dockerlab.Dock).
"""
import json
import os
import re
import subprocess

import pytest

from dockerlab import ROOT, compose_commands

pytestmark = pytest.mark.docker

COMPOSE = compose_commands()
IDS = [" ".join(c) for c in COMPOSE]
MESSAGE = "这是第{0}个超级女生，编号{0:03d}。"


def service_lines(output, service):
    """A service's lines from `up` or `logs` output (v1: server_1 |, v2: server-1 |)."""
    return re.findall(rf"^{service}[-_]1\s*\| ?(.*)$", output.replace("\r\n", "\n"), re.M)


def run_exchange(dock, cmd, env):
    res = dock.compose(cmd, "up", "--no-build", "--no-color", "--exit-code-from", "client",
                       env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_logs_show_the_chinese_messages_intact(dock, cmd):
    run_exchange(dock, cmd, {"COUNT": "2", "INTERVAL": "0"})
    res = dock.compose(cmd, "logs", "--no-color", "server", "client")
    output = res.stdout + res.stderr
    assert res.returncode == 0, output
    assert "\ufffd" not in output, "replacement characters in `logs`:\n" + output
    server, client = service_lines(output, "server"), service_lines(output, "client")
    for i in (1, 2):
        assert f"received: {MESSAGE.format(i)}" in server, output
        assert f"sent: {MESSAGE.format(i)}" in client, output
    assert any(f'recv(4, "{MESSAGE.format(1)}", 1023, 0) = 40' in l for l in server), output


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_each_containers_trace_and_data_lines_stay_in_the_order_written(dock, cmd):
    """The server's round: the recv() trace line, then its 'received:' data line, then
    the send() trace line, then 'sent: ok'; stdout and stderr share one pipe."""
    run_exchange(dock, cmd, {"COUNT": "3", "INTERVAL": "0"})
    server = service_lines(dock.compose(cmd, "logs", "--no-color", "server").stdout, "server")
    marks = []
    for line in server:
        if re.search(r"\brecv\(4, \"", line):
            marks.append("recv")
        elif line.startswith("received: "):
            marks.append("received")
        elif re.search(r"\bsend\(4, \"ok\"", line):
            marks.append("send")
        elif line == "sent: ok":
            marks.append("sent")
    assert marks == ["recv", "received", "send", "sent"] * 3, server


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_logs_sorted_by_timestamp_keep_the_rounds_in_order(dock, cmd):
    """The README's command for one time order: `logs -t --no-color | sort -s -k 3,3`.
    With rounds 0.3 s apart, each message's lines, from either container, come before
    the next message's."""
    run_exchange(dock, cmd, {"COUNT": "3", "INTERVAL": "0.3"})
    project = dock.prefix.replace("-", "")
    compose = " ".join(cmd + ["-f", str(ROOT / "compose.yaml"), "-p", project])
    res = subprocess.run(f"{compose} logs -t --no-color | sort -s -k 3,3", shell=True,
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env=dict(os.environ, SOCKETLAB_IMAGE=dock.image))
    assert res.returncode == 0, res.stderr
    numbers = [int(m.group(1)) for m in re.finditer(r"(?:sent|received): 这是第(\d+)个",
                                                     res.stdout)]
    assert numbers == [1, 1, 2, 2, 3, 3], res.stdout


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_lab_trace_reaches_both_programs(dock, cmd):
    run_exchange(dock, cmd, {"COUNT": "1", "INTERVAL": "0", "LAB_TRACE": "json"})
    output = dock.compose(cmd, "logs", "--no-color").stdout
    for service in ("server", "client"):
        events = [json.loads(l) for l in service_lines(output, service) if l.startswith("{")]
        calls = [e for e in events if "call" in e]
        assert calls and all(e["prog"] == service for e in events), output
        assert all(e["start"] <= e["ts"] for e in calls), output
