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

from labharness import DEFAULT_WAIT, seed_message

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
