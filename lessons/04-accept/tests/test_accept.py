"""Lesson 04 (accept): steps 1-4 of the seed's demo6, steps 1-2 of demo5.

The server accepts one client: accept() returns a new socket for it. The
client creates a socket and connects (the three-way handshake), then exits
0. Nobody sends or receives yet. The tests judge the calls (strace, the
kit's --json trace), the connections a Python peer sees, and exit codes.
"""
import errno

import pytest

from labharness import free_port, program
from lessoncheck import client_strace, run_strace, server_strace, api_names, describe, is_tcp_socket, json_calls, json_describe, named, sockaddr_port, strace_calls
from stderr_facts import names_errno

LESSON = "04-accept"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(5)
def test_accept_returns_a_new_socket_for_the_client(lab, tmp_path):
    """step 4 (accept): accept() on the listening socket returns a NEW fd; the server exits 0."""
    log = tmp_path / "strace.log"
    server = server_strace(lab, LESSON, log=log)
    lab.connect(server.port)
    rc = server.wait()
    calls = strace_calls(log)
    listen, accepts = named(calls, "listen"), named(calls, "accept")
    assert accepts, f"step 4 (accept): expected an accept() call; strace saw:\n{describe(calls)}\n{server.stderr}"
    a = accepts[0]
    assert listen and a.arg(0) == listen[0].arg(0), (
        f"step 4 (accept): accept() takes the LISTENING socket (fd {listen[0].arg(0) if listen else '?'}); "
        f"strace saw {a.raw}({a.args})")
    assert a.ret is not None and a.ret >= 0 and str(a.ret) != a.arg(0), (
        f"step 4 (accept): accept() returns a new fd for the client, got {a.ret} {a.errno}")
    assert rc == 0, f"step 4 (accept): expected exit 0 after accept(), got {rc}\n{server.stderr}"
    assert server.stdout == f"listening on 0.0.0.0:{server.port}\n", (
        f"step 4 (accept): stdout has only the listening line (no data yet)\n{server.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_trace_shows_the_accepted_socket_established(lab):
    """step 4 (accept): the --json trace: accept() = new fd, whose kernel state is ESTABLISHED."""
    server = lab.server(LESSON, "--json")
    lab.connect(server.port)
    assert server.wait() == 0, server.stderr
    events = json_calls(server.stderr)
    accepts = [e for e in events if e["name"] == "accept" and e["ret"] >= 0]
    assert accepts, f"step 4 (accept): the trace should record accept() = fd; it recorded:\n{json_describe(events)}"
    assert accepts[0].get("state") in ("ESTABLISHED", "CLOSE_WAIT"), (
        f"step 4 (accept): the accepted socket is connected (ESTABLISHED); got {accepts[0]}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_server_calls_accept_and_does_not_talk(lab, tmp_path):
    """step 4 (accept): strace sees socket, bind, listen, accept - no recv or send yet."""
    log = tmp_path / "strace.log"
    server = server_strace(lab, LESSON, log=log)
    lab.connect(server.port)
    assert server.wait() == 0, server.stderr
    calls = strace_calls(log)
    assert api_names(calls) == ["socket", "bind", "listen", "accept"], (
        f"step 4 (accept): expected socket, bind, listen, accept (talking is lesson 05); strace saw:\n{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_client_connects_to_the_server_and_exits_0(lab, tmp_path):
    """client steps 1-2: socket(AF_INET, SOCK_STREAM), connect() to the server's port = 0; a Python server
    accepts it; the client sends nothing and exits 0."""
    listener, port = lab.listen()
    log = tmp_path / "strace.log"
    client = client_strace(lab, LESSON, log=log, port=port)
    conn, peer = lab.accept(listener)
    rc = client.wait()
    calls = strace_calls(log)
    socks, conns = named(calls, "socket"), named(calls, "connect")
    assert socks and is_tcp_socket(socks[0]), (
        f"client step 1 (socket): expected socket(AF_INET, SOCK_STREAM, 0 or TCP); strace saw:\n{describe(calls)}")
    assert conns and sockaddr_port(conns[0].args) == port and conns[0].ret == 0, (
        f"client step 2 (connect): expected connect(fd, 127.0.0.1:{port}) = 0; strace saw:\n{describe(calls)}")
    assert rc == 0, f"client step 2 (connect): expected exit 0, got {rc}\n{client.stderr}"
    # The client sends nothing in lesson 04: the server reads end of stream.
    assert lab.recv_until_closed(conn) == b"", "client step 2 (connect): lesson 04 sends no data"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_calls_socket_and_connect_only(lab, tmp_path):
    """client step 2 (connect): strace sees socket, connect - no send or recv yet."""
    listener, port = lab.listen()
    log = tmp_path / "strace.log"
    client = client_strace(lab, LESSON, log=log, port=port)
    lab.accept(listener)
    assert client.wait() == 0, client.stderr
    calls = strace_calls(log)
    assert api_names(calls) == ["socket", "connect"], (
        f"client step 2 (connect): expected socket, connect (talking is lesson 05); strace saw:\n{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_connection_refused_is_reported_with_exit_1(lab, tmp_path):
    """client step 2 (connect): nobody listening -> connect() = -1 ECONNREFUSED: say so, exit 1."""
    port = free_port()
    log = tmp_path / "strace.log"
    r = run_strace(lab, [program(LESSON, "client"), "127.0.0.1", port], log)
    conns = named(strace_calls(log), "connect")
    assert conns and conns[-1].errno == "ECONNREFUSED", (
        f"client step 2 (connect): expected connect() = -1 ECONNREFUSED; strace saw:\n{describe(conns)}")
    assert r.returncode == 1, f"client step 2 (connect): a refused connection is a runtime failure: exit 1\n{r}"
    assert names_errno(r.stderr, errno.ECONNREFUSED), (
        f"client step 2 (connect): the error should say why connect() failed: ECONNREFUSED "
        f"(Connection refused)\n{r}")
    assert r.stdout == "", r
