"""Lesson 06 (close): step 6 of the seed's demo6, step 4 of demo5.

When the client closes, the server's recv() returns 0; the server closes
the connected socket, then the listening one, and exits 0. With -k it
serves clients one after another until SIGTERM or SIGINT, and no client -
one that resets, sends garbage or never reads - brings it down or keeps it
from stopping. The server binds IPv4 or IPv6 (getaddrinfo, --bind ::).
The tests judge calls (strace, the --json trace), kernel state
(/proc/net/tcp, /proc/PID/fd), bytes on the wire and exit codes.
"""
import errno
import os
import signal
import socket

import pytest

from labharness import (TCP_LISTEN, TCP_TIME_WAIT, fault_env, json_lines, port_in_state, reset, seed_message,
                        tcp_sockets, wait_blocked_in, wait_until)
from lessoncheck import client_strace, describe, named, server_strace, strace_calls
from stderr_facts import names_errno

LESSON = "06-close"


def closes_after_last_recv(calls):
    """The fds the program closed after its last recv(), in order."""
    names = [c.name for c in calls]
    last = max((i for i, n in enumerate(names) if n == "recv"), default=0)
    return [int(c.args) for c in calls[last:] if c.name == "close"]


def socket_fds(pid):
    """How many of the process's fds are sockets (/proc/PID/fd)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_client_close_makes_server_recv_0_then_close_both_sockets(lab, tmp_path):
    """step 6 (close): client closes -> server's recv() = 0, then close(connected fd), close(listening fd), exit 0."""
    log = tmp_path / "server.strace"
    server = server_strace(lab, LESSON, log=log)
    sock = lab.connect(server.port)
    sock.sendall(seed_message(1))
    assert lab.recv_exactly(sock, 2) == b"ok"
    sock.close()
    rc = server.wait()
    calls = strace_calls(log)
    listenfd, connfd = named(calls, "socket")[0].ret, named(calls, "accept")[0].ret
    assert named(calls, "recv")[-1].ret == 0, (
        f"step 6 (close): the client's close shows as recv() = 0; strace saw:\n{describe(calls)}")
    assert closes_after_last_recv(calls)[:2] == [connfd, listenfd], (
        f"step 6 (close): after recv() = 0 expected close({connfd}) (the client's socket), then close({listenfd}) "
        f"(the listening socket); strace saw:\n{describe(calls)}")
    assert rc == 0, f"step 6 (close): after the client's close the server exits 0, got {rc}\n{server.stderr}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_closes_its_socket_after_the_last_reply(lab, tmp_path):
    """client step 4 (close): strace sees the client close its socket after its last recv()."""
    listener, port = lab.listen()
    log = tmp_path / "client.strace"
    client = client_strace(lab, LESSON, "-n", "1", log=log, port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.sendall(b"ok")
    assert client.wait() == 0, client.stderr
    calls = strace_calls(log)
    fd = named(calls, "socket")[-1].ret
    assert closes_after_last_recv(calls)[:1] == [fd], (
        f"client step 4 (close): expected close({fd}) after the last reply; strace saw:\n{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_trace_shows_close_wait_before_the_servers_close(lab):
    """step 6 (close): the --json trace: the connected socket is in CLOSE_WAIT (the client closed first)
    when the server closes it."""
    server = lab.server(LESSON, "--json")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    sock.close()
    assert server.wait() == 0, server.stderr
    events = json_lines(server.stderr)
    accepted = [e for e in events if e.get("call") in ("accept", "accept4") and e.get("ret", -1) >= 0]
    assert accepted, f"step 4: the trace should record accept()\n{server.stderr}"
    fd = accepted[0]["ret"]
    close_at = next((i for i, e in enumerate(events) if e.get("call") == "close" and e.get("text", "").startswith(
        f"close({fd})")), None)
    assert close_at is not None, f"step 6 (close): the trace should record close({fd})\n{server.stderr}"
    assert any(e.get("fd") == fd and e.get("state") == "CLOSE_WAIT" for e in events[:close_at + 1]), (
        f"step 6 (close): before close({fd}) the kernel shows fd {fd} in CLOSE_WAIT\n{server.stderr}")


def serve_two_clients_then_signal(lab, sig):
    server = lab.server(LESSON, "-k", "-q")
    for n in (1, 2):
        client = lab.run_client(LESSON, "-q", "-n", "2", "-i", "0", port=server.port)
        assert client.returncode == 0, f"step 6 (-k): expected client {n} to be served (exit 0)\n{client}"
        # Back in accept(): only the listening socket is open, the client's is closed.
        wait_blocked_in(server, "accept")
        assert socket_fds(server.pid) == 1, (
            f"step 6 (close): after client {n} the server should hold only its listening socket; "
            f"it holds {socket_fds(server.pid)} sockets (a client's socket not closed?)")
    assert server.popen.poll() is None, f"step 6 (-k): the server keeps listening\n{server.stderr}"
    server.signal(sig)
    rc = server.wait()
    assert rc == 0, f"step 6 (-k): {sig.name} should end the server with exit 0, got {rc}\n{server.stderr}"
    assert not port_in_state(server.port, TCP_LISTEN), (
        f"step 6 (close): after {sig.name} nothing listens on port {server.port} any more")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_keep_listening_serves_two_clients_and_exits_0_on_sigterm(lab):
    """step 6 (-k): two clients in a row, each socket closed, then SIGTERM: exit 0."""
    serve_two_clients_then_signal(lab, signal.SIGTERM)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_keep_listening_serves_two_clients_and_exits_0_on_sigint(lab):
    """step 6 (-k): two clients in a row, then SIGINT (Ctrl-C): exit 0."""
    serve_two_clients_then_signal(lab, signal.SIGINT)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_reset_and_garbage_clients_never_bring_the_server_down(lab):
    """step 6 (-k): a client that resets and one that sends garbage are survived; the next is served."""
    server = lab.server(LESSON, "-k", "-q")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    reset(sock)
    sock = lab.connect(server.port)
    garbage = bytes(range(256)) + b"\x1b[31m%s%n\r\n"
    sock.sendall(garbage)
    got = lab.recv_exactly(sock, 2)
    assert got == b"ok", f"step 5: expected the server to answer b'ok' to any bytes, got {got!r}"
    sock.close()
    client = lab.run_client(LESSON, "-q", "-n", "1", port=server.port)
    assert client.returncode == 0, f"step 6 (-k): the server still serves after bad clients\n{client}"
    wait_blocked_in(server, "accept")
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, f"step 6 (-k): exit 0 on SIGTERM after bad clients\n{server.stderr}"
    assert names_errno(server.stderr, errno.ECONNRESET), (
        f"step 6: the reset is reported on stderr (ECONNRESET), and survived\n{server.stderr}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_reset_without_keep_listening_closes_both_and_exits_1(lab, tmp_path):
    """step 6 (close): one client that resets: recv() fails, still close both sockets, exit 1 (no crash)."""
    log = tmp_path / "server.strace"
    server = server_strace(lab, LESSON, log=log)
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    reset(sock)
    rc = server.wait()
    calls = strace_calls(log)
    assert named(calls, "recv")[-1].errno == "ECONNRESET", describe(calls)
    listenfd, connfd = named(calls, "socket")[0].ret, named(calls, "accept")[0].ret
    assert closes_after_last_recv(calls)[:2] == [connfd, listenfd], (
        f"step 6 (close): even after a reset, expected close({connfd}) then close({listenfd}); strace saw:\n"
        f"{describe(calls)}")
    assert rc == 1, f"step 6: a reset connection is a runtime failure: expected exit 1, got {rc}\n{server.stderr}"


def tcp_state(local_port, remote_port):
    """The kernel's state (hex, /proc/net/tcp) of the loopback connection
    local_port -> remote_port, or None."""
    return next((st for local, remote, st in tcp_sockets() if (local, remote) == (local_port, remote_port)), None)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_client_that_closes_first_leaves_its_end_in_time_wait(lab):
    """client step 4 (close): the side that closes first waits in TIME_WAIT (state 06)."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "1", port=port)
    conn, (_, client_port) = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.sendall(b"ok")
    assert lab.recv_until_closed(conn) == b"", "client step 4 (close): the client's FIN ends the stream"
    assert client.wait() == 0, client.stderr
    conn.close()                    # our FIN: the client's end moves on to TIME_WAIT
    assert wait_until(lambda: tcp_state(client_port, port) == TCP_TIME_WAIT), (
        f"client step 4 (close): the client's end (port {client_port}) should wait in TIME_WAIT, "
        f"kernel state is {tcp_state(client_port, port)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
@pytest.mark.skipif(not ipv6_loopback_works(), reason="this host has no IPv6 loopback (::1)")
def test_bind_ipv6_serves_ipv6_and_v4_mapped_clients(lab):
    """step 2 (getaddrinfo): --bind :: makes an IPv6 socket that serves an IPv6 client and an IPv4 one."""
    server = lab.server(LESSON, "-k", "-q", "--bind", "::")
    assert server.address == "[::]", f"step 2: --bind :: should listen on [::]\n{server.stdout}"
    for host in ("::1", "127.0.0.1"):
        with socket.create_connection((host, server.port), timeout=10) as sock:
            sock.sendall(b"hello")
            got = lab.recv_exactly(sock, 2)
            assert got == b"ok", f"step 2 (--bind ::): a client on {host} should get b'ok', got {got!r}"
    wait_blocked_in(server, "accept")
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, server.stderr


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_server_stuck_sending_stops_on_sigterm(lab):
    """step 5/6: a server whose send() keeps being interrupted (as a send blocked on a client that never
    reads is, each second) stops on SIGTERM: it does not retry forever, and exits 0."""
    server = lab.server(LESSON, "-q", env=fault_env("send:eintr", {"LAB_FAULT_VERBOSE": "1"}))
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    # It received the message and is now trying to send the reply.
    server.wait_for(r"EINTR", stream="stderr")
    assert server.popen.poll() is None, server.stderr
    server.signal(signal.SIGTERM)
    rc = server.wait(timeout=5)
    assert rc == 0, (f"step 5 (send): after SIGTERM the send loop must stop retrying (stop_requested()) and the "
                     f"server exit 0, got {rc}\n{server.stderr}")
