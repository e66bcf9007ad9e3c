"""Lesson 03 (listen): steps 1-3 of the seed's demo6.

After listen() the kernel completes a client's handshake on its own: the
client's connect() succeeds and the connection waits in the accept queue,
although the server never calls accept(). The server shows the queue and
exits 0.
"""
import re
import signal

import pytest

from labharness import listen_state_seen, parse_strace, socket_call_names

LESSON = "03-listen"


def connect_while_stopped(lab, server):
    """Connect to a lesson 03 server while the server process is stopped
    (SIGSTOP): the kernel alone answers the handshake, so connect() returns.
    The server then resumes, sees the queued client and exits at once -
    stopping it first keeps that exit (which resets the queued connection)
    from racing with our connect()."""
    server.signal(signal.SIGSTOP)
    try:
        sock = lab.connect(server.port)
        # Still stopped: the connection is ESTABLISHED, with no accept().
        assert sock.getpeername()[1] == server.port, (
            "step 3 (listen): the client is connected to the server's port")
        return sock
    finally:
        server.signal(signal.SIGCONT)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(6)
def test_client_connect_completes_before_any_accept(lab):
    """step 3 (listen): a Python client's connect() succeeds; the server sees accept queue 1 and exits 0."""
    server = lab.server(LESSON)
    assert server.address == "0.0.0.0", server.stdout
    server.wait_for(r"kernel: fd 3 LISTEN, accept queue 0 of 5", stream="stderr")
    connect_while_stopped(lab, server)      # raises if the handshake fails
    assert server.wait() == 0, (
        f"step 3 (listen): the server should exit 0 once a client waits\n{server.stderr}")
    err = server.stderr
    assert "step 3 listen  listen(3, 5) = 0" in err, f"step 3 (listen): listen(3, 5) traced\n{err}"
    assert "kernel: fd 3 LISTEN, accept queue 1 of 5" in err, (
        f"step 3 (listen): after the client's connect the accept queue holds 1 connection\n{err}")
    assert err.index("accept queue 0 of 5") < err.index("accept queue 1 of 5"), err
    assert not re.search(r"^\[server\] step [4-6]", err, re.M), (
        f"step 3 (listen): no accept() or later step in lesson 03\n{err}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_socket_is_in_listen_state_before_any_client(lab):
    """step 3 (listen): the kernel lists the port as LISTEN (/proc/net/tcp) while no client came."""
    server = lab.server(LESSON, "--bind", "127.0.0.1")
    assert listen_state_seen(server.port), (
        f"step 3 (listen): port {server.port} should be in LISTEN state\n{server.stderr}")
    assert server.popen.poll() is None, "step 3 (listen): the server waits for a client"
    connect_while_stopped(lab, server)
    assert server.wait() == 0, server.stderr


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_can_send_before_accept_the_kernel_buffers_it(lab):
    """step 3 (listen): bytes sent before accept() are taken by the kernel; sendall() returns."""
    server = lab.server(LESSON)
    server.signal(signal.SIGSTOP)
    try:
        sock = lab.connect(server.port)
        sock.sendall(b"early bytes")
    finally:
        server.signal(signal.SIGCONT)
    assert server.wait() == 0, server.stderr
    assert "received" not in server.stdout, (
        f"step 3 (listen): nothing reads the data in lesson 03\n{server.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_server_calls_listen_and_no_accept(lab, tmp_path):
    """step 3 (listen): strace sees socket, bind, listen - and no accept, recv or send."""
    log = tmp_path / "strace.log"
    server = lab.server(LESSON, strace=log)
    # Under strace a SIGSTOP would stop strace, not the server: the server
    # may reset the queued connection before connect() reports success.
    try:
        lab.connect(server.port)
    except ConnectionResetError:
        pass
    assert server.wait() == 0, server.stderr
    calls = parse_strace(log)
    assert socket_call_names(calls) == ["socket", "bind", "listen"], (
        f"step 3 (listen): the socket API calls should be socket, bind, listen; strace saw {calls}")
    listen = [c for c in calls if c[0] == "listen"][0]
    assert listen[1] == "3, 5", f"step 3 (listen): listen(3, 5), the seed's backlog: {listen}"
