"""The trace on stderr, across lessons: -q, --json, LAB_LANG=zh, colour.

Each test runs lesson 06's server and client (the final programs) on
loopback, or lesson 01's server where a short run is enough.
"""
import json
import os
import pty
import re
import subprocess
import unicodedata

import pytest

from labharness import base_env, free_port, json_lines, program, seed_message

LESSON = "06-close"
ESC = "\x1b"


def exchange(lab, *args, count=2, env=None):
    """Server and client, both with `args`; returns (server, client) after both exited."""
    server = lab.server(LESSON, *args, env=env)
    client = lab.run_client(LESSON, *args, "-n", str(count), "-i", "0", port=server.port, env=env)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    return server, client


def test_quiet_leaves_stderr_empty_and_stdout_only_data_lines(lab):
    server, client = exchange(lab, "-q")
    assert server.stderr == "" and client.stderr == "", (
        f"-q: no trace at all\n--- server:\n{server.stderr}\n--- client:\n{client.stderr}")
    assert server.stdout.splitlines() == [
        f"listening on 0.0.0.0:{server.port}",
        f"received: {seed_message(1).decode()}", "sent: ok",
        f"received: {seed_message(2).decode()}", "sent: ok"], server.stdout
    assert client.stdout.splitlines() == [
        f"sent: {seed_message(1).decode()}", "received: ok",
        f"sent: {seed_message(2).decode()}", "received: ok"], client.stdout


def json_entries(text):
    lines = text.splitlines()
    assert lines, "--json: the trace is empty"
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            pytest.fail(f"--json: every stderr line should be one JSON object, not {line!r}\n{text}")
    return out


def test_json_trace_is_one_object_per_line_with_the_calls_in_the_seeds_order(lab):
    server, client = exchange(lab, "--json")
    s = json_entries(server.stderr)
    c = json_entries(client.stderr)
    scalls = [(e["step"], e["call"]) for e in s if "call" in e]
    assert scalls == [
        (1, "socket"), (2, "setsockopt"), (2, "bind"), (2, "getsockname"), (3, "listen"),
        (4, "accept"), (5, "recv"), (5, "send"), (5, "recv"), (5, "send"), (5, "recv"),
        (6, "close"), (6, "close")], f"--json: the server's calls in the seed's order\n{server.stderr}"
    ccalls = [(e["step"], e["call"]) for e in c if "call" in e]
    assert ccalls == [
        (1, "socket"), (1, "setsockopt"), (1, "setsockopt"), (2, "connect"),
        (3, "send"), (3, "recv"), (3, "send"), (3, "recv"), (4, "close")], (
        f"--json: the client's calls in the seed's order\n{client.stderr}")
    assert all(e["prog"] == "server" for e in s) and all(e["prog"] == "client" for e in c)
    by_call = {e["call"]: e for e in s if "call" in e}
    assert by_call["listen"]["state"] == "LISTEN" and by_call["listen"]["backlog"] == 5, by_call["listen"]
    assert by_call["accept"]["ret"] == 4 and by_call["accept"]["state"] == "ESTABLISHED", by_call["accept"]
    assert by_call["bind"]["label"] == "bind address" and by_call["bind"]["text"] == "bind(3, 0.0.0.0:0, 16)"
    recvs = [e for e in s if e.get("call") == "recv"]
    assert [e["ret"] for e in recvs] == [40, 40, 0], recvs
    assert server.stdout.count("sent: ok") == 2, "--json changes stderr only"


def test_json_trace_of_a_failed_call_names_errno(lab):
    port = free_port()
    r = lab.run_client(LESSON, "--json", port=port)
    assert r.returncode == 1, r
    entries = json_lines(r.stderr)
    connect = [e for e in entries if e.get("call") == "connect"]
    assert connect and connect[0]["ret"] == -1, r
    assert connect[0]["errno"] == "ECONNREFUSED" and connect[0]["error"] == "Connection refused", connect


def test_lab_lang_zh_prints_the_seeds_chinese_labels(lab):
    server, client = exchange(lab, env={"LAB_LANG": "zh"})
    assert re.search(r"^\[服务器\] 第1步 创建服务端的socket  socket\(AF_INET, SOCK_STREAM, \d+\) = 3$",
                     server.stderr, re.M), server.stderr
    assert "第4步 受理客户端的连接" in server.stderr and "第6步 " in server.stderr, server.stderr
    assert re.search(r"^\[客户端\] 第2步 向服务器发起连接请求  connect\(", client.stderr, re.M), client.stderr
    # The data lines never change with the language: harnesses read them.
    assert server.stdout.splitlines()[1:] == [
        f"received: {seed_message(1).decode()}", "sent: ok",
        f"received: {seed_message(2).decode()}", "sent: ok"], server.stdout
    assert client.stdout.splitlines() == [
        f"sent: {seed_message(1).decode()}", "received: ok",
        f"sent: {seed_message(2).decode()}", "received: ok"], client.stdout


@pytest.mark.parametrize("no_color", ["1", ""])
def test_no_escape_bytes_when_not_a_terminal(lab, no_color):
    """Pipes are no terminal: no colour, whether NO_COLOR is set or not."""
    server, client = exchange(lab, env={"NO_COLOR": no_color})
    for p in (server, client):
        assert ESC not in p.stderr and ESC not in p.stdout, f"escape bytes in a pipe:\n{p.stderr!r}"


def trace_on_a_terminal(no_color):
    """Lesson 01's server with stderr on a pseudo-terminal; returns what it printed there."""
    master, slave = pty.openpty()
    env = base_env({"NO_COLOR": no_color})
    try:
        p = subprocess.Popen([str(program("01-socket", "server")), "0"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=slave, env=env)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:         # EIO: the program closed the terminal
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(10) == 0
    finally:
        os.close(master)
    return out.decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color():
    coloured = trace_on_a_terminal("")
    assert ESC + "[" in coloured, f"a terminal without NO_COLOR gets colour:\n{coloured!r}"
    plain = trace_on_a_terminal("1")
    assert ESC not in plain and "socket(AF_INET, SOCK_STREAM, 0) = 3" in plain, (
        f"NO_COLOR=1 turns colour off, even on a terminal:\n{plain!r}")


def columns(line):
    """Columns a line takes on a terminal: an East Asian wide character takes 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


# What Compose puts before each line, padded to the longest service name
# (the slow profile's): "server_1       | ", 17 columns.
COMPOSE_PREFIX = "server_1       | "


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_compact_trace_fits_a_projector_with_no_side_names(lab, lang):
    server, client = exchange(lab, env={"LAB_TRACE": "compact", "LAB_LANG": lang}, count=3)
    for p, side in ((server, "server"), (client, "client")):
        lines = p.stderr.splitlines()
        assert len(lines) > 10, p.stderr
        wide = [l for l in lines if columns(l) > 62 or columns(COMPOSE_PREFIX + l) > 80]
        assert not wide, f"{side}: lines wider than 80 columns under Compose's prefix:\n" + "\n".join(wide)
        assert not [l for l in lines if l.startswith("[")], f"{side}: no [side] names:\n{p.stderr}"
    # Every call is still there: the server's three receives, the client's three sends.
    assert len(re.findall(r"\brecv\(4, ", server.stderr)) == 4, server.stderr
    assert len(re.findall(r"\bsend\(3, ", client.stderr)) == 3, client.stderr
    # The data lines do not change.
    assert client.stdout.count("received: ok") == 3
