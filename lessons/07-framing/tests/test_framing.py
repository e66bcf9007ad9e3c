"""Lesson 07 (framing): message boundaries on a byte stream.

The seed's protocol takes one recv() as one message, so back-to-back sends
glue together and split reads cut messages apart. Lesson 07's protocol
frames each message: a 4-byte length in network byte order, then that many
bytes; the reply "ok" is framed the same way (00 00 00 02 6f 6b). A length
above MAX_FRAME (64 KiB) closes that client; the server goes on.
These tests speak to the programs with raw Python sockets and assert the
bytes on the wire.
"""
import signal
import socket
import struct

import pytest

from labharness import fault_env, seed_message, unread_bytes, wait_blocked_in, wait_until
from framed import MAX_FRAME, OK_FRAME, bytes_until_closed, frame
from stderr_facts import reported

LESSON = "07-framing"


def received_lines(stdout):
    return [l[len("received: "):] for l in stdout.splitlines() if l.startswith("received: ")]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_sends_each_message_as_a_length_then_its_bytes(lab):
    """client step 3: each of the seed's messages goes out as 4-byte big-endian length + UTF-8 bytes."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "3", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    for i in (1, 2, 3):
        header = lab.recv_exactly(conn, 4)
        assert header == struct.pack("!I", len(seed_message(i))), (
            f"message {i}: the length prefix should be {len(seed_message(i))} in network byte order "
            f"({struct.pack('!I', len(seed_message(i))).hex(' ')}), got {header.hex(' ')}")
        assert lab.recv_exactly(conn, len(seed_message(i))) == seed_message(i)
        conn.sendall(OK_FRAME)
    assert lab.recv_until_closed(conn) == b"", "after the last reply the client closes, sending nothing more"
    assert client.wait() == 0, client.stderr


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_answers_each_frame_with_a_framed_ok(lab):
    """server step 5: a frame in, 00 00 00 02 o k out; closing between frames ends the talk, exit 0."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    for i in (1, 2):
        sock.sendall(frame(seed_message(i)))
        assert lab.recv_exactly(sock, 6) == OK_FRAME
    sock.sendall(frame(b""))                    # an empty message is a message too
    assert lab.recv_exactly(sock, 6) == OK_FRAME
    sock.shutdown(socket.SHUT_WR)
    assert lab.recv_until_closed(sock) == b"", "no more bytes than one framed ok per frame"
    assert server.wait() == 0, server.stderr
    assert received_lines(server.stdout) == [seed_message(1).decode(), seed_message(2).decode(), ""]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_a_frame_written_one_byte_at_a_time_is_one_message(lab):
    """server step 5 (read exactly): 1-byte sends, header and body, still make one message and one reply."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    wire = frame(seed_message(1))
    for i, byte in enumerate(wire):
        sock.send(bytes([byte]))
        if i in (1, 3, 10):                     # the server has read what came so far
            wait_until(lambda: unread_bytes(server.port, sock.getsockname()[1]) == 0)
    assert lab.recv_exactly(sock, 6) == OK_FRAME
    sock.close()
    assert server.wait() == 0, server.stderr
    assert received_lines(server.stdout) == [seed_message(1).decode()]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_ten_frames_in_one_send_get_ten_framed_replies(lab):
    """server step 5: ten frames glued in one send() are ten messages, ten replies, in order."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    sock.sendall(b"".join(frame(seed_message(i)) for i in range(1, 11)))
    assert lab.recv_exactly(sock, 60) == OK_FRAME * 10
    sock.close()
    assert server.wait() == 0, server.stderr
    assert received_lines(server.stdout) == [seed_message(i).decode() for i in range(1, 11)]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_length_above_max_frame_closes_that_client_and_the_server_goes_on(lab):
    """server step 5: a length of MAX_FRAME + 1 is a protocol error: no reply, closed, said on stderr
    (naming the length); the next client is served."""
    server = lab.server(LESSON, "-k")
    sock = lab.connect(server.port)
    sock.sendall(struct.pack("!I", MAX_FRAME + 1) + b"x" * 100)
    assert bytes_until_closed(lab, sock) == b"", "a too-long frame gets no reply: the server closes"
    reported(server, [MAX_FRAME + 1], what=f"the frame of {MAX_FRAME + 1} bytes, above the maximum")
    # A frame of exactly MAX_FRAME bytes is allowed.
    big = lab.connect(server.port)
    big.sendall(frame(b"a" * MAX_FRAME))
    assert lab.recv_exactly(big, 6) == OK_FRAME, "a frame of exactly 64 KiB is within the limit"
    big.close()
    client = lab.run_client(LESSON, "-n", "2", "-i", "0", port=server.port)
    assert client.returncode == 0, client
    wait_blocked_in(server, "accept")
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, f"-k: exit 0 on SIGTERM after a bad client\n{server.stderr}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_a_client_that_disconnects_mid_frame_is_closed_and_the_server_goes_on(lab):
    """server step 5: EOF inside a header or a body is reported (how many bytes came); the server
    serves the next client."""
    server = lab.server(LESSON, "-k")
    # The bytes sent, and the numbers a report of them may name: the bytes that
    # came (of the header, of the body, in all) or the frame's length.
    body = frame(seed_message(1))[:10]
    for partial, facts in ((b"\x00\x00", [2]), (body, [6, 10, len(seed_message(1))])):
        mark = len(server.stderr)
        sock = lab.connect(server.port)
        sock.sendall(partial)
        sock.shutdown(socket.SHUT_WR)
        assert lab.recv_until_closed(sock) == b"", f"{partial!r}: no reply to half a frame"
        sock.close()
        reported(server, facts, after=mark, what=f"the client that left after {len(partial)} bytes of a frame")
    sock = lab.connect(server.port)
    sock.sendall(frame(b"after"))
    assert lab.recv_exactly(sock, 6) == OK_FRAME
    sock.close()
    server.wait_for(r"^received: after$")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_client_rejects_a_reply_that_is_not_a_framed_ok(lab):
    """client step 3: a reply other than a framed "ok" is not a reply: exit 1, no hang, no second
    message, and stderr says which message's reply was wrong."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "2", "-i", "0", "-t", "1", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, 4 + len(seed_message(1))) == frame(seed_message(1))
    conn.sendall(b"\x00\x00\x00\x02OK")
    assert client.wait() == 1, client.stderr
    assert lab.recv_until_closed(conn) == b"", "client step 3: no second message after a wrong reply"
    reported(client, [1], what="the wrong reply to message 1")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_exchange_is_right_under_short_writes_eintr_and_short_reads(lab):
    """the send and read-exactly loops: 1-byte writes, EINTR every 3rd send, 3-byte reads, either side."""
    faults = fault_env("send:short=1;send:eintr=every3;recv:short=3;recv:eintr=every5")
    for who in ("server", "client", "both"):
        server = lab.server(LESSON, env=faults if who in ("server", "both") else None)
        client = lab.run_client(LESSON, "-n", "5", "-i", "0", "-t", "3", port=server.port,
                                env=faults if who in ("client", "both") else None)
        assert client.returncode == 0, f"faults in the {who}\n{client}"
        assert server.wait() == 0, f"faults in the {who}\n{server.stderr}"
        assert received_lines(server.stdout) == [seed_message(i).decode() for i in range(1, 6)], who
        assert client.stdout.count("received: ok\n") == 5, f"faults in the {who}\n{client.stdout}"
