"""framed.py - lesson 07's framed protocol, for the tests of lessons 07-10.

Each message on the wire is a 4-byte length in network byte order, then that
many bytes; the server's reply "ok" is framed the same way (00 00 00 02 6f 6b),
and a length above MAX_FRAME (64 KiB) closes that client. The tests speak it
with raw Python sockets through these helpers, and run the lesson's own
clients with run_clients().
"""
import os
import struct
import time

from labharness import unread_bytes

MAX_FRAME = 64 * 1024
OK_FRAME = b"\x00\x00\x00\x02ok"


def frame(payload):
    """One message as the protocol puts it on the wire: length (big-endian u32), bytes."""
    return struct.pack("!I", len(payload)) + payload


def round_trip(lab, sock, payload):
    """Send one framed message; return the reply's bytes (OK_FRAME when all is well)."""
    sock.sendall(frame(payload))
    return lab.recv_exactly(sock, len(OK_FRAME))


def interleaved_rounds(lab, socks, rounds=3, label=""):
    """Each round, every socket sends "client N message R" framed, then every
    socket reads its framed ok: many clients talking at once, interleaved."""
    for round_ in range(1, rounds + 1):
        for n, s in enumerate(socks):
            s.sendall(frame(f"client {n} message {round_}".encode()))
        for n, s in enumerate(socks):
            got = lab.recv_exactly(s, len(OK_FRAME))
            assert got == OK_FRAME, f"{label}client {n}, message {round_}: expected {OK_FRAME!r}, got {got!r}"


def bytes_until_closed(lab, sock):
    """What sock receives until the peer closes it. A peer that closes with
    our bytes still unread sends RST instead of FIN: closed all the same."""
    try:
        return lab.recv_until_closed(sock)
    except ConnectionResetError:
        return b""


def fd_count(pid):
    """How many fds a process has open (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def run_clients(lab, lesson, port, n, count=3, env=None):
    """n of the lesson's clients at once, `count` messages each; asserts each
    exits 0 with every reply."""
    clients = [lab.client(lesson, "-q", "-n", str(count), "-i", "0", "-t", "10", port=port, env=env)
               for _ in range(n)]
    for c in clients:
        assert c.wait(30) == 0, f"a client failed:\n{c.stdout}\n{c.stderr}"
        assert c.stdout.count("received: ok\n") == count, c.stdout


def serve_others_while_one_stops_reading(lab, server, hog, hint, timeout=10.0):
    """`hog` sends frames and reads none of the replies. Round trips on
    another connection, one after another, until the server has stopped
    reading the hog (its unread bytes stand still for a round): each must be
    answered meanwhile; a reply that does not come fails with `hint`."""
    probe = lab.connect(server.port)
    hog_port = hog.getsockname()[1]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        probe.sendall(frame(b"probe"))
        assert lab.recv_exactly(probe, len(OK_FRAME), hint=hint) == OK_FRAME, hint
        unread = unread_bytes(server.port, hog_port)
        if unread and unread == last:
            return
        last = unread
        time.sleep(0.2)
    raise AssertionError(f"the server never stopped reading the client that reads nothing: {hint}")
