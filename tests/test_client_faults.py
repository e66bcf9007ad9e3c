"""Faulty servers against lesson 06's client.

Each test is a raw Python server that misbehaves in one way: never replies,
replies something else, closes or resets mid-exchange, replies in pieces.
The client must never hang, never die of a signal, and never lose a message
silently: it either gets "ok" for each, or says which message failed and
how many were acknowledged.
"""
import errno
import socket
import time

import pytest

from labharness import reset, seed_message
from stderr_facts import errno_facts, line_naming

LESSON = "06-close"


def read_message(lab, conn, i):
    """Read the client's i-th message, whole (it is sent in one go)."""
    want = seed_message(i)
    assert lab.recv_exactly(conn, len(want)) == want


def wait_count(proc, text, n, timeout=10):
    """Wait until `text` has appeared n times on the program's stderr."""
    deadline = time.monotonic() + timeout
    while proc.stderr.count(text) < n:
        if proc.popen.poll() is not None:
            proc.wait()             # it ended: let the harness read all it wrote
            assert proc.stderr.count(text) >= n, f"{text!r} not seen {n} times:\n{proc.stderr}"
            return
        assert time.monotonic() < deadline, f"{text!r} not seen {n} times:\n{proc.stderr}"
        time.sleep(0.01)


def test_client_times_out_on_a_server_that_never_replies(lab):
    listener, port = lab.listen()
    client = lab.client(LESSON, "-q", "-n", "1", "-t", "1", port=port)
    conn, _ = lab.accept(listener)
    read_message(lab, conn, 1)
    started = time.monotonic()
    rc = client.wait(10)                       # keep conn open: no reply, no EOF
    elapsed = time.monotonic() - started
    assert rc == 1, client.stderr
    assert elapsed < 5, f"the 1 s timeout took {elapsed:.1f} s"
    err = client.stderr
    assert line_naming(err, [1], errno_facts(errno.EAGAIN)), f"names message 1 and EAGAIN:\n{err}"
    assert "client: hint: timed out waiting for the peer (see the client's --timeout)" in err
    assert client.stdout == f"sent: {seed_message(1).decode()}\n"


def test_client_times_out_connecting_when_the_accept_queue_stays_full(lab):
    # A listener with a backlog of 0 that never accepts: after one queued
    # connection the kernel drops further SYNs, so connect() waits.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    lab.socks.append(listener)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
        lab.socks.append(s)
    r = lab.run_client(LESSON, "-q", "-n", "1", "-t", "1", port=port, timeout=15)
    # Whether the client's own SYN was queued or dropped, it never hangs:
    # it times out in connect() or waiting for the reply, and says so.
    assert r.returncode == 1, r
    assert line_naming(r.stderr, [port]) or line_naming(r.stderr, [1], errno_facts(errno.EAGAIN)), r


def test_client_refuses_a_reply_other_than_ok(lab):
    listener, port = lab.listen()
    client = lab.client(LESSON, "-q", "-n", "3", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    read_message(lab, conn, 1)
    conn.sendall(b"ok")
    read_message(lab, conn, 2)
    conn.sendall(b"no")
    assert client.wait() == 1
    assert line_naming(client.stderr, [2], [1]), f"names message 2, 1 acknowledged:\n{client.stderr}"
    assert client.stdout.splitlines()[-1] == "received: no"


@pytest.mark.parametrize("acked", [0, 1, 3])
def test_client_names_the_lost_message_when_the_server_closes_mid_exchange(lab, acked):
    listener, port = lab.listen()
    client = lab.client(LESSON, "-q", "-n", "4", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    for i in range(1, acked + 1):
        read_message(lab, conn, i)
        conn.sendall(b"ok")
    read_message(lab, conn, acked + 1)
    conn.close()                                   # FIN instead of "ok"
    assert client.wait() == 1
    assert line_naming(client.stderr, [acked + 1], [acked]), (
        f"names message {acked + 1} and {acked} acknowledged:\n{client.stderr}")
    # Exactly the acknowledged ones were reported as received.
    assert client.stdout.count("received: ok") == acked


def test_client_reports_a_reset_with_the_message_it_lost(lab):
    listener, port = lab.listen()
    client = lab.client(LESSON, "-q", "-n", "3", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    read_message(lab, conn, 1)
    conn.sendall(b"ok")
    read_message(lab, conn, 2)
    reset(conn)
    assert client.wait() == 1
    err = client.stderr
    assert line_naming(err, [2], [1], errno_facts(errno.ECONNRESET)), err
    assert "client: hint: the peer reset the connection" in err


def test_client_takes_a_reply_in_pieces(lab):
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "2", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in (1, 2):
        read_message(lab, conn, i)
        conn.sendall(b"o")
        # The client asked for 2 bytes and got 1 (its trace says so)...
        wait_count(client, 'recv(3, "o", 2, 0) = 1', i)
        conn.sendall(b"k")
        # ...and asks again for the other one.
        wait_count(client, 'recv(3, "k", 1, 0) = 1', i)
    conn.close()
    assert client.wait() == 0, client.stderr
    assert client.stdout.count("received: ok") == 2
    assert client.stderr.count('recv(3, "o", 2, 0) = 1') == 2


def test_client_is_not_killed_by_sigpipe_when_writing_to_a_closed_server(lab):
    listener, port = lab.listen()
    # -i 1: the server's FIN and RST arrive while the client sleeps, so its
    # next send() goes to a connection the peer has torn down.
    client = lab.client(LESSON, "-q", "-n", "3", "-i", "1", port=port)
    conn, _ = lab.accept(listener)
    read_message(lab, conn, 1)
    conn.sendall(b"ok")
    conn.shutdown(socket.SHUT_WR)
    reset(conn)
    rc = client.wait()
    assert rc == 1, f"exit {rc} (negative: killed by a signal)\n{client.stderr}"
    err = client.stderr
    # Reported, naming the message and what was acknowledged before it.
    # The peer closed (FIN) and then reset: the kernel's answer is EPIPE.
    assert line_naming(err, [2], [1], errno_facts(errno.EPIPE)), err
    assert "client: hint: the peer has closed its end" in err
    assert client.stdout.count("received: ok") == 1
