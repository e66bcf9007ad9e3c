"""Signals and restarts: Ctrl-C and SIGTERM stop a -k server cleanly, SIGPIPE
never kills, and a server restarts on its port at once (SO_REUSEADDR) even
while the last connection on it waits in TIME_WAIT.
"""
import os
import signal
import socket
from pathlib import Path

import pytest

from labharness import DEFAULT_WAIT, reset, time_wait_on, wait_until

LESSON = "06-close"


def socket_fds(pid):
    """The fds of a process that are sockets, from /proc/PID/fd."""
    fds = []
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(entry).startswith("socket:"):
                fds.append(int(entry.name))
        except FileNotFoundError:
            pass
    return sorted(fds)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_keep_listening_server_stops_on_signal_while_waiting_for_a_client(lab, sig):
    server = lab.server(LESSON, "-k")
    server.wait_for(r"accept queue 0 of 5", stream="stderr")
    assert socket_fds(server.pid) == [3]
    server.signal(sig)
    assert server.wait() == 0, server.stderr
    err = server.stderr
    # accept() was interrupted, then the listening socket was closed.
    assert "accept(3, addr, 128) = -1 EINTR" in err
    assert "close(3) = 0" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_keep_listening_server_stops_on_signal_mid_conversation_and_closes_both_sockets(lab, sig):
    server = lab.server(LESSON, "-k")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"
    # Both sockets are open: the listener (3) and this client's (4).
    assert wait_until(lambda: socket_fds(server.pid) == [3, 4]), "two sockets open"
    server.signal(sig)
    assert server.wait() == 0, server.stderr
    err = server.stderr
    assert err.index("close(4) = 0") < err.index("close(3) = 0")
    # The client sees an orderly end (FIN), not a reset.
    assert lab.recv_until_closed(sock) == b""


def test_signal_arriving_between_clients_still_lets_the_current_one_finish(lab):
    server = lab.server(LESSON, "-q", "-k")
    r = lab.run_client(LESSON, "-q", "-n", "3", "-i", "0", port=server.port)
    assert r.returncode == 0
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert server.stdout.count("received: ") == 3


def test_server_restarts_on_the_same_port_while_the_old_connection_is_in_time_wait(lab):
    first = lab.server(LESSON, "-q", "-k")
    port = first.port
    sock = lab.connect(port)
    sock.sendall(b"first run")
    assert lab.recv_exactly(sock, 2) == b"ok"
    # Stopping the server mid-conversation makes the server close first:
    # its side of this connection then waits in TIME_WAIT on `port`.
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert lab.recv_until_closed(sock) == b""
    sock.close()
    assert wait_until(lambda: time_wait_on(port)), f"no TIME_WAIT on port {port}"

    second = lab.server(LESSON, "-q", port=port)
    assert second.port == port
    r = lab.run_client(LESSON, "-q", "-n", "1", port=port)
    assert r.returncode == 0, r
    assert second.wait() == 0
    assert second.stdout.splitlines()[1] == "received: 这是第1个超级女生，编号001。"


def test_server_is_never_killed_by_sigpipe_from_vanishing_clients(lab):
    # Clients that send and vanish at once, some with an unread reply
    # (close then sends RST), some with SO_LINGER 0: the server's "ok"
    # goes to a dead connection. SIGPIPE is at its default (fatal) action
    # in the programs the harness starts, so only the kit's care saves it.
    server = lab.server(LESSON, "-q", "-k")
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=DEFAULT_WAIT)
        s.sendall(b"a%d" % i)
        if i % 2:
            reset(s)
        else:
            s.sendall(b"b%d" % i)
            s.close()
        assert server.popen.poll() is None, f"server died: exit {server.popen.poll()}"
    r = lab.run_client(LESSON, "-q", "-n", "1", port=server.port)
    assert r.returncode == 0, r
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, server.stderr
    # Whatever failed was reported as a warning, never as a signal death.
    for line in server.stderr.splitlines():
        assert line.startswith("server: "), line
