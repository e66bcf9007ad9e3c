"""Lesson 04 (accept): steps 1-4 of the seed's demo6, steps 1-2 of demo5.

The server accepts one client: accept() returns a new socket and names the
peer (its real address and port). The client creates a socket and connects
(the three-way handshake), then exits 0. Nobody sends or receives yet.
"""
import re

import pytest

from labharness import free_port, parse_strace, socket_call_names

LESSON = "04-accept"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(5)
def test_accept_names_the_clients_real_address_and_port(lab):
    """step 4 (accept): the trace shows accept(3, IP:PORT, 16) = 4 with the client's own port."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    ip, port = sock.getsockname()
    assert server.wait() == 0, f"step 4 (accept): the server should exit 0 after accept\n{server.stderr}"
    err = server.stderr
    assert f"step 4 accept client  accept(3, {ip}:{port}, 16) = 4" in err, (
        f"step 4 (accept): accept() should name the peer {ip}:{port} and return a new fd 4\n{err}")
    assert "kernel: fd 4 ESTABLISHED" in err, (
        f"step 4 (accept): the accepted socket is ESTABLISHED\n{err}")
    assert err.index("listen(3, 5) = 0") < err.index("accept(3,"), err
    assert server.stdout == f"listening on 0.0.0.0:{server.port}\n", (
        f"step 4 (accept): stdout has only the listening line (no data yet)\n{server.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_server_calls_accept_and_does_not_talk(lab, tmp_path):
    """step 4 (accept): strace sees socket, bind, listen, accept - no recv or send yet."""
    log = tmp_path / "strace.log"
    server = lab.server(LESSON, strace=log)
    lab.connect(server.port)
    assert server.wait() == 0, server.stderr
    calls = parse_strace(log)
    assert socket_call_names(calls) == ["socket", "bind", "listen", "accept"], (
        f"step 4 (accept): the socket API calls should be socket, bind, listen, accept; strace saw {calls}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_client_connects_and_exits_0(lab):
    """client step 2 (connect): the lesson 04 client connects to a Python server, is ESTABLISHED, exits 0."""
    listener, port = lab.listen()
    client = lab.client(LESSON, port=port)
    conn, peer = lab.accept(listener)
    assert client.wait() == 0, f"client step 2 (connect): the client should exit 0\n{client.stderr}"
    err = client.stderr
    assert re.search(r"^\[client\] step 1 create socket  socket\(AF_INET, SOCK_STREAM, 6\) = 3$", err, re.M), err
    assert f"[client] step 2 connect  connect(3, 127.0.0.1:{port}, 16) = 0" in err, (
        f"client step 2 (connect): connect() to the server's address should return 0\n{err}")
    assert "[client]   kernel: fd 3 ESTABLISHED" in err, (
        f"client step 2 (connect): after connect the socket is ESTABLISHED\n{err}")
    # The client sends nothing in lesson 04: the server reads end of stream.
    assert lab.recv_until_closed(conn) == b"", "client step 2 (connect): lesson 04 sends no data"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_calls_socket_and_connect_only(lab, tmp_path):
    """client step 2 (connect): strace sees socket, connect - no send or recv yet."""
    listener, port = lab.listen()
    log = tmp_path / "strace.log"
    client = lab.client(LESSON, port=port, strace=log)
    conn, _ = lab.accept(listener)
    assert client.wait() == 0, client.stderr
    calls = parse_strace(log)
    assert socket_call_names(calls) == ["socket", "connect"], (
        f"client step 2 (connect): the socket API calls should be socket, connect; strace saw {calls}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(5)
def test_connection_refused_is_explained_with_a_hint(lab):
    """client step 2 (connect): nobody listening -> ECONNREFUSED, a hint, exit 1."""
    port = free_port()
    r = lab.run_client(LESSON, port=port)
    assert r.returncode == 1, f"client step 2 (connect): a refused connection is a runtime failure (exit 1)\n{r}"
    assert f"connect(3, 127.0.0.1:{port}, 16) = -1 ECONNREFUSED (Connection refused)" in r.stderr, (
        f"client step 2 (connect): the trace should show connect failing with ECONNREFUSED\n{r}")
    assert f"client: connect to 127.0.0.1 port {port}: Connection refused (ECONNREFUSED)" in r.stderr, (
        f"client step 2 (connect): the error should name host, port and errno\n{r}")
    assert re.search(r"^client: hint: nothing listens on that port", r.stderr, re.M), (
        f"client step 2 (connect): a hint should say that nothing listens there\n{r}")
    assert r.stdout == "", r
