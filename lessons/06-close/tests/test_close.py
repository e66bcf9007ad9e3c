"""Lesson 06 (close): step 6 of the seed's demo6, step 4 of demo5.

When the client closes, the server's recv() returns 0; the server closes
the connected socket, then the listening one, and exits 0. With -k it
serves clients one after another until SIGTERM or SIGINT, and no client -
one that resets or sends garbage - brings it down.
"""
import re
import signal

import pytest

from labharness import (TCP_TIME_WAIT, parse_strace, reset, seed_message, socket_call_names, tcp_sockets,
                        wait_blocked_in, wait_until)

LESSON = "06-close"


def close_lines(stderr):
    """The trace's step 6 / step 4 close() lines, in order."""
    return re.findall(r"^\[(?:server|client)\] step \d close  (close\(\d+\) = -?\d+)", stderr, re.M)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_client_close_makes_server_recv_0_then_close_both_sockets(lab):
    """step 6 (close): client closes -> server's recv() = 0, close(4) then close(3), exit 0."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    sock.sendall(seed_message(1))
    assert lab.recv_exactly(sock, 2) == b"ok"
    sock.close()
    assert server.wait() == 0, f"step 6 (close): after the client's close the server exits 0\n{server.stderr}"
    err = server.stderr
    assert re.search(r"step 5 talk  recv\(4, buf, 1023, 0\) = 0\n", err), (
        f"step 6 (close): the client's close shows as recv() returning 0\n{err}")
    assert "[server]   kernel: fd 4 CLOSE_WAIT" in err, (
        f"step 6 (close): the peer closed first, so fd 4 is in CLOSE_WAIT before our close\n{err}")
    assert close_lines(err) == ["close(4) = 0", "close(3) = 0"], (
        f"step 6 (close): close the connected socket (4), then the listening one (3)\n{err}")
    assert err.index("= 0\n[server]   kernel: fd 4 CLOSE_WAIT") < err.index("close(4) = 0"), err


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_both_programs_close_their_sockets(lab, tmp_path):
    """step 6 (close): strace sees the server close fd 4 then fd 3, the client close fd 3, after the talk."""
    slog, clog = tmp_path / "server.strace", tmp_path / "client.strace"
    server = lab.server(LESSON, strace=slog)
    client = lab.run_client(LESSON, "-n", "1", port=server.port, strace=clog)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    scalls, ccalls = parse_strace(slog), parse_strace(clog)
    assert socket_call_names(scalls) == ["socket", "bind", "listen", "accept", "recv", "send", "recv"], scalls
    names = [c[0] for c in scalls]
    last_recv = max(i for i, n in enumerate(names) if n in ("recvfrom", "recv"))
    closes = [c[1] for c in scalls[last_recv:] if c[0] == "close"]
    assert closes[:2] == ["4", "3"], (
        f"step 6 (close): after recv() = 0 the server should close(4) then close(3); strace saw {scalls}")
    cnames = [c[0] for c in ccalls]
    assert socket_call_names(ccalls) == ["socket", "connect", "send", "recv"], ccalls
    last = max(i for i, n in enumerate(cnames) if n in ("recvfrom", "recv"))
    assert [c[1] for c in ccalls[last:] if c[0] == "close"][:1] == ["3"], (
        f"client step 4 (close): the client should close(3) after its last reply; strace saw {ccalls}")


def serve_two_clients_then_signal(lab, sig):
    server = lab.server(LESSON, "-k")
    for n in (1, 2):
        client = lab.run_client(LESSON, "-n", "2", "-i", "0", port=server.port)
        assert client.returncode == 0, f"step 6 (-k): client {n} should be served and exit 0\n{client}"
    # The second client is closed and the server waits in accept() again.
    wait_blocked_in(server, "accept")
    assert server.popen.poll() is None, f"step 6 (-k): the server keeps listening\n{server.stderr}"
    server.signal(sig)
    rc = server.wait()
    err = server.stderr
    assert rc == 0, f"step 6 (-k): {sig.name} ends the server with exit 0\n{err}"
    assert len(re.findall(r"step 4 accept client  accept\(3, 127\.0\.0\.1:\d+, 16\) = 4", err)) == 2, (
        f"step 6 (-k): two clients accepted, one after the other, each on fd 4\n{err}")
    assert close_lines(err) == ["close(4) = 0", "close(4) = 0", "close(3) = 0"], (
        f"step 6 (-k): each client's socket closed, then the listening socket\n{err}")
    assert server.stdout.count("sent: ok\n") == 4, server.stdout


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_keep_listening_serves_two_clients_and_exits_0_on_sigterm(lab):
    """step 6 (-k): two clients in a row, then SIGTERM: close the listening socket, exit 0."""
    serve_two_clients_then_signal(lab, signal.SIGTERM)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_keep_listening_serves_two_clients_and_exits_0_on_sigint(lab):
    """step 6 (-k): two clients in a row, then SIGINT (Ctrl-C): close the listening socket, exit 0."""
    serve_two_clients_then_signal(lab, signal.SIGINT)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_reset_and_garbage_clients_never_bring_the_server_down(lab):
    """step 6 (-k): a client that resets and one that sends garbage are survived; the next is served."""
    server = lab.server(LESSON, "-k")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    reset(sock)
    server.wait_for(r"ECONNRESET", stream="stderr")
    sock = lab.connect(server.port)
    garbage = bytes(range(256)) + b"\x1b[31m%s%n\r\n"
    sock.sendall(garbage)
    got = lab.recv_exactly(sock, 2)
    assert got == b"ok", f"step 5: the server answers b'ok' to any bytes, got {got!r}"
    sock.close()
    client = lab.run_client(LESSON, "-n", "1", port=server.port)
    assert client.returncode == 0, f"step 6 (-k): the server still serves after bad clients\n{client}"
    wait_blocked_in(server, "accept")
    assert server.popen.poll() is None, f"step 6 (-k): the server is still running\n{server.stderr}"
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, f"step 6 (-k): exit 0 on SIGTERM after bad clients\n{server.stderr}"
    assert "server: recv from client (fd 4): Connection reset by peer (ECONNRESET)" in server.stderr, (
        f"step 6: a reset is reported (and survived)\n{server.stderr}")
    assert "received: " + seed_message(1).decode() in server.stdout, server.stdout


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_reset_without_keep_listening_closes_both_and_exits_1(lab):
    """step 6 (close): one client that resets: say so, still close both sockets, exit 1 (no crash)."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    reset(sock)
    assert server.wait() == 1, f"step 6: a reset connection is a runtime failure (exit 1)\n{server.stderr}"
    assert "recv(4, buf, 1023, 0) = -1 ECONNRESET (Connection reset by peer)" in server.stderr, server.stderr
    assert re.search(r"^server: hint: the peer reset the connection", server.stderr, re.M), server.stderr
    assert close_lines(server.stderr) == ["close(4) = 0", "close(3) = 0"], (
        f"step 6 (close): both sockets are closed even after a reset\n{server.stderr}")


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
