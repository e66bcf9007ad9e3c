"""framed.py - lesson 07's framed protocol, for the tests of lessons 07-10.

Each message on the wire is a 4-byte length in network byte order, then that
many bytes; the server's reply "ok" is framed the same way (00 00 00 02 6f 6b),
and a length above MAX_FRAME (64 KiB) closes that client. The tests speak it
with raw Python sockets through these helpers. Lessons 08-10 run lesson 07's
client (build/08-fork/client is built from lessons/07-framing/client.c), so
their tests play that client themselves, with run_clients(): a lesson's
points then depend on its own server only, never on how lesson 07 went.
"""
import os
import socket
import struct
import threading
import time

from diagnose import cpu_used
from labharness import DEFAULT_WAIT, seed_message, unread_bytes, wait_until

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


def run_clients(lab, port, n, count=3, pieces=False, timeout=DEFAULT_WAIT):
    """n clients at once, each doing what lesson 07's client does: send the
    seed's first `count` messages framed, each after the framed ok for the
    one before, then close. Asserts each gets every reply within `timeout`
    seconds. With `pieces`, every frame goes out one byte per send()
    (TCP_NODELAY), as the client's under injected short writes."""
    socks = [lab.connect(port, timeout=timeout) for _ in range(n)]
    failed = []

    def talk(k, sock):
        try:
            if pieces:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(1, count + 1):
                data = frame(seed_message(i))
                if pieces:
                    for b in range(len(data)):
                        sock.sendall(data[b:b + 1])
                else:
                    sock.sendall(data)
                got = lab.recv_exactly(sock, len(OK_FRAME), timeout=timeout)
                if got != OK_FRAME:
                    failed.append(f"client {k}, message {i} of {count}: expected {OK_FRAME!r}, got {got!r}")
                    return
            sock.close()
        except OSError as e:
            failed.append(f"client {k}: {e!r}")

    threads = [threading.Thread(target=talk, args=(k, s), daemon=True) for k, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    hung = sum(t.is_alive() for t in threads)
    assert not failed and not hung, (f"{len(failed) + hung} of {n} clients did not get every reply "
                                      f"({hung} still waiting): " + "; ".join(failed[:5]))


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


# A client that sends this many empty frames and reads none of the replies
# (6 bytes each, 3 MB) is owed more than the socket buffers hold (about
# 1.7 MB with its receive buffer at 1 KiB): a server that waits in send()
# for it stops serving everyone else (lessons 09, 10).
HOG_FRAMES = 500_000
# An idle server sleeps in poll()/epoll_wait(); wanting the CPU for this many
# seconds of one (running or ready to run) is a loop that never sleeps.
IDLE_CPU = 0.3


def hog_hint(out):
    """What to fix when a client that does not read stops the others; `out`:
    POLLOUT or EPOLLOUT."""
    return ("step 5: a client that sends without reading its replies must not stop the others: a blocking "
            "send() to it waits until it reads; make every client socket non-blocking (O_NONBLOCK), keep "
            f"what send() did not take, and send it when {out} says there is room")


def assert_idle_with_idle_clients(lab, server, call, out, what=""):
    """Five clients, each answered once, one with half a frame in: nothing to
    do, so the server must sleep in `call` (poll(), epoll_wait()): the CPU it
    wants over a second is almost none. `out`: POLLOUT or EPOLLOUT."""
    socks = [lab.connect(server.port) for _ in range(5)]
    for s in socks:
        assert round_trip(lab, s, b"hi") == OK_FRAME
    socks[0].sendall(frame(b"half a frame")[:6])
    assert wait_until(lambda: unread_bytes(server.port, socks[0].getsockname()[1]) == 0)
    used, wanted = cpu_used(server.pid, 1.0)
    assert wanted < IDLE_CPU, (
        f"step 5: {what}with five idle clients the server wanted the CPU for {wanted:.2f} s of 1 s "
        f"(ran {used:.2f} s): it never sleeps. A socket with room in its send buffer is always writable: "
        f"asking for {out} while no reply waits makes {call} return at once, over and over; ask for "
        f"{out} only while replies wait to be sent")
