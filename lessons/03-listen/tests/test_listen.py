"""Lesson 03 (listen): steps 1-3 of the seed's demo6.

After listen() the kernel completes a client's handshake on its own: the
client's connect() succeeds and the connection waits in the accept queue,
although the server never calls accept(). The server notices the queued
client (poll) and exits 0. The tests judge kernel state (/proc/net/tcp:
the LISTEN socket and its accept queue), the calls strace sees and the exit code.
"""
import signal

import pytest

from labharness import accept_queue, listen_state_seen, wait_until
from lessoncheck import server_strace, api_names, describe, named, strace_calls

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
@pytest.mark.points(5)
def test_client_connect_completes_before_any_accept(lab):
    """step 3 (listen): a Python client's connect() succeeds with no accept(); the server then exits 0."""
    server = lab.server(LESSON)
    assert listen_state_seen(server.port), (
        f"step 3 (listen): expected port {server.port} in state LISTEN (/proc/net/tcp)\n{server.stderr}")
    connect_while_stopped(lab, server)      # raises if the handshake fails
    rc = server.wait()
    assert rc == 0, f"step 3 (listen): once a client waits in the queue the server exits 0, got {rc}\n{server.stderr}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_socket_is_in_listen_state_before_any_client(lab):
    """step 3 (listen): the kernel lists the port as LISTEN (/proc/net/tcp) while no client came."""
    server = lab.server(LESSON, "--bind", "127.0.0.1")
    assert listen_state_seen(server.port), (
        f"step 3 (listen): port {server.port} should be in LISTEN state after listen()\n{server.stderr}")
    assert server.popen.poll() is None, "step 3 (listen): the server waits for a client"
    connect_while_stopped(lab, server)
    assert server.wait() == 0, server.stderr


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_trace_shows_listen_then_a_client_in_the_accept_queue(lab):
    """step 3 (listen): the kernel's view (/proc/net/tcp): after listen() the port is LISTEN with an empty
    accept queue, and a client that connects while the server is stopped waits in that queue."""
    server = lab.server(LESSON)
    assert listen_state_seen(server.port), (
        f"step 3 (listen): expected port {server.port} in state LISTEN (/proc/net/tcp)\n{server.stderr}")
    assert accept_queue(server.port) == 0, (
        f"step 3 (listen): before any client the accept queue is empty; the kernel shows {accept_queue(server.port)}")
    server.signal(signal.SIGSTOP)
    try:
        lab.connect(server.port)
        assert wait_until(lambda: accept_queue(server.port) == 1), (
            f"step 3 (listen): the connected client waits in the accept queue (1); "
            f"the kernel shows {accept_queue(server.port)}")
    finally:
        server.signal(signal.SIGCONT)
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
@pytest.mark.points(3)
def test_server_calls_listen_and_no_accept(lab, tmp_path):
    """step 3 (listen): strace sees socket, bind, listen on the bound socket - and no accept, recv or send."""
    log = tmp_path / "strace.log"
    server = server_strace(lab, LESSON, log=log)
    # Under strace a SIGSTOP would stop strace, not the server: the server
    # may reset the queued connection before connect() reports success.
    try:
        lab.connect(server.port)
    except ConnectionResetError:
        pass
    assert server.wait() == 0, server.stderr
    calls = strace_calls(log)
    assert api_names(calls) == ["socket", "bind", "listen"], (
        f"step 3 (listen): expected socket, bind, listen (accept is lesson 04); strace saw:\n{describe(calls)}")
    listen, sock = named(calls, "listen")[0], named(calls, "socket")[0]
    assert listen.ret == 0 and listen.arg(0) == str(sock.ret) and int(listen.arg(1)) >= 1, (
        f"step 3 (listen): expected listen(<the socket's fd {sock.ret}>, backlog >= 1) = 0; "
        f"strace saw listen({listen.args}) = {listen.ret}")
