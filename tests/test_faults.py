"""Fault injection (build/libfault.so, src/interpose/README.md): the real lesson
programs under LD_PRELOAD, made to see short writes, EINTR, resets and
refusals on demand.

Each test starts the programs with fault_env(SPEC) and checks facts: the
exact bytes on the wire, the exit code, the data lines, and the calls the
--json trace saw (what failed, with which errno, what was injected); never
the wording of a program's messages.
"""
import re
import signal
import socket
import subprocess

import pytest

from labharness import ROOT, BUILD, base_env, json_lines, seed_message, unquote_data
from labharness import preload_fault_env as fault_env   # the interposer's LAB_FAULT, in-process

TALKING = ["05-send-recv", "06-close"]        # lessons whose programs send/recv
BINDING = ["02-bind", "03-listen", "04-accept", "05-send-recv", "06-close"]
CLIENTS = ["04-accept", "05-send-recv", "06-close"]
SHORT_AND_EINTR = "send:short=1;send:eintr=every3"
COUNT = 10
# Programs that are not ours (sh, socat) may leak at exit; under SAN=1 the
# preloaded libasan would report it and change their exit code.
NO_LEAK_CHECK = {"ASAN_OPTIONS": "detect_leaks=0"}


def received_pieces(stdout_bytes):
    """The server's `received: ` lines, as the raw bytes they quote (a piece
    that splits a UTF-8 character shows its bytes as \\xNN)."""
    return [unquote_data(l[len(b"received: "):]) for l in stdout_bytes.split(b"\n")
            if l.startswith(b"received: ")]


def talk_to_server(lab, server, count=COUNT):
    """A raw Python client: each seed message, then exactly the 2-byte reply.
    Returns every byte the server sent, up to its close."""
    sock = lab.connect(server.port)
    replies = b""
    for i in range(1, count + 1):
        sock.sendall(seed_message(i))
        replies += lab.recv_exactly(sock, 2)
    sock.shutdown(socket.SHUT_WR)
    replies += lab.recv_until_closed(sock)
    return replies


def serve_client(lab, client_start, count=COUNT):
    """A raw Python server for a lesson client: reads each seed message by its
    exact length, replies ok. Returns every byte the client sent, to its close."""
    lsock, port = lab.listen()
    client = client_start(port)
    conn, _ = lab.accept(lsock)
    got = b""
    for i in range(1, count + 1):
        piece = lab.recv_exactly(conn, len(seed_message(i)))
        got += piece
        if piece != seed_message(i):
            break
        conn.sendall(b"ok")
    got += lab.recv_until_closed(conn)
    return client, got


# ---- the spec is checked at start-up ----

@pytest.mark.parametrize("spec", [
    "sned:short=1", "send:short=0", "send:short", "bind:short=4", "send:eintr=every0",
    "send:eintr=sometimes", "send:eintr@prob=2", "recv:delay=soon", "send:enoent", "send", ";",
])
def test_bad_spec_stops_the_program_with_exit_2_and_names_the_rule(lab, spec):
    r = lab.run([BUILD / "06-close" / "server", "0"], env=fault_env(spec))
    assert r.returncode == 2, r
    assert r.stdout == "", r                   # stopped before main() ran
    assert spec in r.stderr, r                 # the message quotes the rule it refuses


def test_bad_seed_stops_the_program_with_exit_2(lab):
    r = lab.run([BUILD / "06-close" / "server", "0"],
                env=fault_env("send:eintr@prob0.5", {"LAB_FAULT_SEED": "x1"}))
    assert r.returncode == 2 and r.stdout == "", r
    assert "x1" in r.stderr, r


def failed_calls(stderr, name):
    """The --json trace's events of call `name` that returned -1: [(errno, injected)]."""
    return [(e.get("errno"), e.get("injected")) for e in json_lines(stderr)
            if e.get("call") == name and e.get("ret") == -1]


# ---- the trace marks what was injected ----

def test_trace_marks_an_injected_short_write_once(lab):
    server = lab.server("06-close", env=fault_env("send:short=1"))
    assert talk_to_server(lab, server, count=1) == b"ok"
    assert server.wait() == 0
    lines = server.stderr.splitlines()
    # The data shown is what the kernel took: "o" of "ok", and "..." for the rest.
    first = [i for i, l in enumerate(lines) if re.search(r'send\(\d+, "o"\.\.\., 2, MSG_NOSIGNAL\) = 1', l)]
    assert first, server.stderr
    assert lines[first[0]].endswith("= 1   [injected: short write]")
    # A note says what happened (1 of 2 bytes), and the rest, 1 byte, goes
    # out as asked: no mark on that line.
    assert re.search(r"\b1\b.*\b2\b", lines[first[0] + 1]), server.stderr
    assert re.search(r'send\(\d+, "k", 1, MSG_NOSIGNAL\) = 1$', lines[first[0] + 2]), server.stderr


def test_trace_marks_an_injected_eintr_and_the_retry_succeeds(lab):
    server = lab.server("06-close", env=fault_env("send:eintr=once1"))
    assert talk_to_server(lab, server, count=2) == b"okok"
    assert server.wait() == 0
    sends = [l for l in server.stderr.splitlines() if " send(" in l]
    assert sends[0].endswith("= -1 EINTR (Interrupted system call)   [injected: EINTR]"), sends
    assert all("injected" not in l for l in sends[1:]), sends
    assert len(sends) == 3                     # one failed, then one per reply


def test_json_trace_carries_the_injected_key(lab):
    server = lab.server("06-close", "--json", env=fault_env("send:short=1"))
    talk_to_server(lab, server, count=1)
    assert server.wait() == 0
    sends = [o for o in server.json_trace() if o.get("call") == "send"]
    assert [(o["ret"], o.get("injected")) for o in sends] == [(1, "short write"), (1, None)]


# ---- short writes and EINTR change nothing on the wire ----

@pytest.mark.parametrize("lesson", TALKING)
def test_server_replies_are_byte_identical_under_short_writes_and_eintr(lab, lesson):
    plain = lab.server(lesson)
    plain_bytes = talk_to_server(lab, plain)
    assert plain.wait() == 0

    faulty = lab.server(lesson, env=fault_env(SHORT_AND_EINTR))
    faulty_bytes = talk_to_server(lab, faulty)
    assert faulty.wait() == 0, faulty.stderr
    assert faulty_bytes == plain_bytes == b"ok" * COUNT
    assert received_pieces(faulty.stdout_bytes) == [seed_message(i) for i in range(1, COUNT + 1)]
    assert faulty.stdout.count("sent: ok\n") == COUNT
    assert "[injected: short write]" in faulty.stderr and "[injected: EINTR]" in faulty.stderr


@pytest.mark.parametrize("lesson", TALKING)
@pytest.mark.parametrize("spec", [SHORT_AND_EINTR, SHORT_AND_EINTR + ";recv:short=1;recv:eintr=every2"])
def test_client_bytes_are_exact_under_short_writes_and_eintr(lab, lesson, spec):
    def start(port):
        return lab.client(lesson, "-i", "0", port=port, env=fault_env(spec))

    client, got = serve_client(lab, start)
    assert client.wait() == 0, client.stderr
    assert got == b"".join(seed_message(i) for i in range(1, COUNT + 1))
    assert client.stdout.count("received: ok\n") == COUNT
    assert "[injected: short write]" in client.stderr


def test_random_faults_repeat_exactly_with_the_same_seed(lab):
    spec = "send:short=3;send:eintr@prob0.4"
    traces = []
    for _ in range(2):
        server = lab.server("06-close", env=fault_env(spec, {"LAB_FAULT_SEED": "42"}))
        assert talk_to_server(lab, server, count=3) == b"okokok"
        assert server.wait() == 0
        traces.append([l.split("  ", 1)[1] for l in server.stderr.splitlines() if " send(" in l])
    assert traces[0] == traces[1]
    assert any("[injected: EINTR]" in l for l in traces[0])


# ---- short reads: the seed's protocol has no message boundaries ----

def test_one_message_read_in_pieces_is_answered_piece_by_piece(lab):
    # The server's recv() returns at most 10 bytes: the 40-byte message
    # arrives in pieces, and the unframed server takes each for a message.
    server = lab.server("06-close", env=fault_env("recv:short=10"))
    sock = lab.connect(server.port)
    sock.sendall(seed_message(1))
    sock.shutdown(socket.SHUT_WR)
    replies = lab.recv_until_closed(sock)
    assert server.wait() == 0, server.stderr
    pieces = received_pieces(server.stdout_bytes)
    assert b"".join(pieces) == seed_message(1)
    assert len(pieces) == 4 and all(len(p) == 10 for p in pieces), pieces
    # One "ok" per piece: 4 replies to 1 message.
    assert replies == b"ok" * 4
    assert server.stderr.count("[injected: short read]") == 4


# ---- each injected errno: the call fails, the program exits 1, no crash or hang ----

@pytest.mark.parametrize("lesson", BINDING)
def test_injected_eaddrinuse_on_bind_exits_1(lab, lesson):
    r = lab.run([BUILD / lesson / "server", "--json", "0"], env=fault_env("bind:eaddrinuse"))
    assert r.returncode == 1, r
    assert failed_calls(r.stderr, "bind") == [("EADDRINUSE", "EADDRINUSE")], r
    assert "listening on" not in r.stdout and "bound to" not in r.stdout


@pytest.mark.parametrize("lesson", CLIENTS)
@pytest.mark.parametrize("mode, errno", [("econnrefused", "ECONNREFUSED"), ("etimedout", "ETIMEDOUT")])
def test_injected_connect_failure_exits_1(lab, lesson, mode, errno):
    _, port = lab.listen()                 # something listens: only the fault fails
    r = lab.run_client(lesson, "--json", "-i", "0", port=port, env=fault_env(f"connect:{mode}"))
    assert r.returncode == 1, r
    assert failed_calls(r.stderr, "connect") == [(errno, errno)], r
    assert r.stdout == ""                  # nothing was sent


@pytest.mark.parametrize("lesson", TALKING)
@pytest.mark.parametrize("mode, errno", [("epipe", "EPIPE"), ("econnreset", "ECONNRESET")])
def test_injected_send_failure_stops_the_client_after_the_acknowledged_message(lab, lesson, mode, errno):
    server = lab.server(lesson)
    r = lab.run_client(lesson, "--json", "-n", "3", "-i", "0", port=server.port,
                       env=fault_env(f"send:{mode}=once2"))
    assert r.returncode == 1, r            # not -13: no SIGPIPE death
    assert failed_calls(r.stderr, "send") == [(errno, errno)], r
    assert r.stdout.splitlines() == [f"sent: {seed_message(1).decode()}", "received: ok"]


@pytest.mark.parametrize("lesson", TALKING)
def test_injected_recv_timeout_stops_the_client_before_any_reply(lab, lesson):
    server = lab.server(lesson)
    r = lab.run_client(lesson, "--json", "-n", "2", "-i", "0", port=server.port,
                       env=fault_env("recv:eagain"))
    assert r.returncode == 1, r
    assert failed_calls(r.stderr, "recv") == [("EAGAIN", "EAGAIN")], r
    assert r.stdout.splitlines() == [f"sent: {seed_message(1).decode()}"]


def test_injected_emfile_on_accept_exits_1(lab):
    server = lab.server("06-close", "--json", env=fault_env("accept:emfile"))
    assert server.wait() == 1, server.stderr
    assert failed_calls(server.stderr, "accept") == [("EMFILE", "EMFILE")], server.stderr


def test_keep_listening_server_survives_injected_accept_and_recv_failures(lab):
    server = lab.server("06-close", "-k", "--json", env=fault_env("accept:emfile=once1;recv:econnreset=once1"))
    server.wait_for(r'"call":"accept".*"errno":"EMFILE"', stream="stderr")

    # The first client's first recv() fails: the server drops that client.
    first = lab.connect(server.port)
    first.sendall(seed_message(1))
    try:
        assert lab.recv_until_closed(first) == b""
    except ConnectionResetError:
        pass                                # closed with our message unread: RST
    server.wait_for(r'"call":"recv".*"errno":"ECONNRESET"', stream="stderr")

    # ... and serves the next one in full.
    client = lab.run_client("06-close", "-n", "2", "-i", "0", port=server.port)
    assert client.returncode == 0, client
    assert client.stdout.count("received: ok\n") == 2
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, server.stderr


def test_injected_delay_holds_the_call_and_is_marked(lab):
    server = lab.server("06-close", "--json", env=fault_env("accept:delay=50ms"))
    assert talk_to_server(lab, server, count=1) == b"ok"
    assert server.wait() == 0
    accept = [e for e in server.json_trace() if e.get("call") == "accept"]
    assert [e.get("injected") for e in accept] == ["delay 50ms"], accept
    assert accept[0]["ts"] - accept[0]["start"] >= 0.05, accept      # it waited first


# ---- the runner script ----

def test_with_faults_runs_a_program_under_the_spec(lab):
    env = {"LAB_BUILD": str(BUILD)}
    r = lab.run([ROOT / "tools" / "with-faults", "bind:eaddrinuse", BUILD / "06-close" / "server", "0"], env=env)
    assert r.returncode == 1, r
    assert "[injected: EADDRINUSE]" in r.stderr


def test_with_faults_without_a_program_is_a_usage_error(lab):
    r = lab.run([ROOT / "tools" / "with-faults", "send:short=1"])
    assert r.returncode == 2 and r.stdout == "" and r.stderr, r


def test_writes_to_a_pipe_are_never_injected(lab):
    # write() is wrapped too (for nc-like peers), but only sockets are touched:
    # a program writing to its stdout pipe under send:epipe runs as usual.
    r = lab.run(["sh", "-c", "printf 'hello, pipe\\n'"], env=fault_env("send:epipe;send:short=1", NO_LEAK_CHECK))
    assert r.returncode == 0, r
    assert r.stdout == "hello, pipe\n"


def test_verbose_mode_logs_injections_into_a_raw_socket_writer(lab):
    # socat sends with write(2): the library injects there too and, with
    # LAB_FAULT_VERBOSE, says so on stderr.
    lsock, port = lab.listen()
    env = base_env(fault_env("send:short=2", {"LAB_FAULT_VERBOSE": "1", **NO_LEAK_CHECK}))
    proc = subprocess.Popen(["socat", "-u", "-", f"TCP:127.0.0.1:{port}"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        conn, _ = lab.accept(lsock)
        _, err = proc.communicate(b"abcdef", timeout=10)
    finally:
        proc.kill()
    assert lab.recv_until_closed(conn) == b"abcdef"
    assert proc.returncode == 0, err
    assert b"libfault: send call 1: short write" in err, err
