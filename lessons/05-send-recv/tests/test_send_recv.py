"""Lesson 05 (send/recv): the seed's exchange, step 5 of demo6, step 3 of demo5.

The server prints each message it receives and answers exactly b"ok"; the
client sends the seed's messages (`这是第%d个超级女生，编号%03d。`, no NUL
on the wire), waits for the whole "ok" after each, and pauses -i SEC.
A Python socket plays the other side, so every byte on the wire is checked;
injected short writes, split reads and EINTR (tools/sysfault, from outside) show that
the loops finish what send() and recv() leave undone.
"""
import socket
import time

import pytest

from diagnose import sanitizer_report
from labharness import fault_env, seed_message
from lessoncheck import api_names, client_strace, describe, named, server_strace, strace_calls

LESSON = "05-send-recv"


def serve_ok(lab, listener, count):
    """A raw Python server peer: accept, then for each of the seed's messages
    check the exact bytes and answer b"ok". Returns the connected socket."""
    conn, _ = lab.accept(listener)
    for i in range(1, count + 1):
        want = seed_message(i)
        got = lab.recv_exactly(conn, len(want))
        assert got == want, f"client step 3 (send): expected message {i} on the wire as {want!r}, got {got!r}"
        conn.sendall(b"ok")
    return conn


def in_order(text, parts):
    """Whether each of `parts` occurs in `text`, one after the other."""
    at = 0
    for part in parts:
        at = text.find(part, at)
        if at == -1:
            return False
        at += len(part)
    return True


def ask(lab, sock, message, what):
    """Send `message` from a Python client and read the reply: it must be b"ok"."""
    sock.sendall(message)
    got = lab.recv_exactly(sock, 2)
    assert got == b"ok", f"step 5 (send): expected the reply b'ok' to {what}, got {got!r}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_server_replies_ok_to_each_message(lab):
    """step 5 (recv/send): each message in -> exactly b"ok" out, also for a short one after long ones."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    for i in range(1, 4):
        ask(lab, sock, seed_message(i), f"message {i}")
    ask(lab, sock, b"hi", "b'hi'")
    sock.close()
    rc = server.wait()
    assert rc == 0, (f"step 5 (recv): the client closed (recv() returns 0): expected the server to exit 0, "
                     f"got {rc}\n{server.stderr}")


# Messages around the server's buffer of BUF_SIZE = 1024 bytes: (size, how
# many recv() calls of at most 1023 bytes take it, so how many oks come back).
LONG_MESSAGES = ((1023, 1), (1024, 2), (2000, 2))


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_messages_of_1023_1024_and_2000_bytes_are_read_at_most_1023_bytes_at_a_time(lab):
    """step 5 (recv): one recv() takes at most 1023 bytes, keeping the buffer's last byte for the '\\0':
    1023 bytes get one ok, 1024 bytes two (1023 + 1), 2000 bytes two (1023 + 977)."""
    server = lab.server(LESSON, "-q")
    sock = lab.connect(server.port)
    for size, pieces in LONG_MESSAGES:
        hint = (f"step 5 (recv): a {size}-byte message takes {pieces} recv() of at most 1023 bytes, so "
                f"{pieces} ok: recv() into the 1024-byte buffer must ask for sizeof(buffer) - 1 bytes, or "
                f"buffer[n] = '\\0' writes past its end when n is 1024")
        sock.sendall(bytes([ord("a") + pieces]) * size)
        got = lab.recv_exactly(sock, 2 * pieces, timeout=5, hint=hint)
        said = sanitizer_report(server.stderr)
        assert got == b"ok" * pieces, (
            (f"step 5 (recv): the server crashed on a {size}-byte message: {said}\n{hint}" if said else
             f"{hint}; got {got!r}") + f"\n{server.stderr[-2000:]}")
    sock.shutdown(socket.SHUT_WR)
    assert lab.recv_until_closed(sock) == b"", "step 5 (send): one ok per recv(), nothing more"
    rc = server.wait()
    assert rc == 0, f"step 5: expected exit 0 after the client closed, got {rc}\n{server.stderr[-2000:]}"
    pieces = [len(l) - len("received: ") for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert pieces == [1023, 1023, 1, 1023, 977], (
        f"step 5 (recv): expected the pieces 1023, 1023 + 1, 1023 + 977 printed, one line each; "
        f"the lines printed were {pieces} bytes long")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_prints_each_message_it_received(lab):
    """step 5 (recv): stdout shows each message received, in order, and only the bytes recv() returned."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    msgs = [seed_message(1), seed_message(2), b"hi"]
    for i, m in enumerate(msgs):
        ask(lab, sock, m, f"message {i + 1}")
    sock.close()
    assert server.wait() == 0, server.stderr
    out = server.stdout
    assert in_order(out, [m.decode() for m in msgs]), (
        f"step 5 (recv): stdout should show the three messages received, in order\n{out}")
    assert out.count("编号002。") == 1, (
        f"step 5 (recv): print only the n bytes recv() returned: after b'hi' the rest of message 2, left in the "
        f"buffer, showed again\n{out}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_server_exits_when_the_client_closes_at_once(lab):
    """step 5 (recv): a client that connects and closes without a word: recv() = 0, exit 0 (no spinning)."""
    server = lab.server(LESSON)
    lab.connect(server.port).close()
    rc = server.wait()
    assert rc == 0, f"step 5 (recv): recv() = 0 means the client closed: expected exit 0, got {rc}\n{server.stderr}"
    assert server.stdout.count("\n") <= 2, f"step 5 (recv): nothing was received\n{server.stdout[:500]}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_client_sends_the_seeds_ten_messages_byte_for_byte(lab):
    """client step 3 (talk): the ten seed messages, exact UTF-8 bytes, one "ok" awaited after each."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-i", "0", port=port)
    conn = serve_ok(lab, listener, 10)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (send): expected nothing after the tenth message"
    rc = client.wait()
    assert rc == 0, f"client step 3 (talk): expected exit 0, got {rc}\n{client.stderr}"
    assert in_order(client.stdout, [seed_message(i).decode() for i in range(1, 11)]), (
        f"client step 3 (talk): stdout should show the ten messages sent, in order\n{client.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_count_and_interval_options(lab):
    """client step 3 (talk): -n 2 sends two messages; -i 0.3 waits at least 0.3 s between them."""
    listener, port = lab.listen()
    start = time.monotonic()
    client = lab.client(LESSON, "-n", "2", "-i", "0.3", port=port)
    conn = serve_ok(lab, listener, 2)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (talk): -n 2 means exactly two messages"
    assert client.wait() == 0, client.stderr
    elapsed = time.monotonic() - start
    assert elapsed >= 0.3, f"client step 3 (talk): -i 0.3 should pause between the two messages ({elapsed:.2f}s)"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_reply_read_one_byte_at_a_time_still_counts_as_ok(lab):
    """client step 3 (recv): each recv() returns at most 1 byte (injected): the client reads until it has b"ok"."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "2", "-i", "0", port=port, env=fault_env("recv:short=1"))
    serve_ok(lab, listener, 2)
    rc = client.wait()
    assert rc == 0, (f"client step 3 (recv): with recv() returning 1 byte at a time the reply is still b'ok': "
                     f"read until both bytes are in (expected exit 0, got {rc})\n{client.stderr}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_reply_other_than_ok_fails_and_stops(lab):
    """client step 3 (recv): a reply b"no" is not "ok": exit 1, and no second message is sent."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "3", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.sendall(b"no")
    rc = client.wait()
    assert rc == 1, f"client step 3 (recv): a wrong reply is a runtime failure: expected exit 1, got {rc}\n{client.stderr}"
    assert lab.recv_until_closed(conn) == b"", "client step 3: expected no second message after a wrong reply"
    assert client.stderr.strip(), "client step 3 (recv): the failure should be explained on stderr"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_closing_before_the_reply_is_a_failure(lab):
    """client step 3 (recv): the server closes instead of replying: recv() = 0 there is an error, exit 1."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "2", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.close()
    rc = client.wait()
    assert rc == 1, (f"client step 3 (recv): the server closed before replying: expected exit 1, got {rc}"
                     f"\n{client.stderr}")
    assert client.stderr.strip(), "client step 3 (recv): the failure should be explained on stderr"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_server_and_client_make_recv_and_send_calls(lab, tmp_path):
    """step 5 (recv/send): strace sees the server's recv/send per message then recv = 0, and the client's send/recv."""
    slog, clog = tmp_path / "server.strace", tmp_path / "client.strace"
    server = server_strace(lab, LESSON, log=slog)
    client = client_strace(lab, LESSON, "-n", "2", "-i", "0", log=clog, port=server.port)
    assert client.wait() == 0, client.stderr
    assert server.wait() == 0, server.stderr
    scalls, ccalls = strace_calls(slog), strace_calls(clog)
    io = api_names(scalls)[4:]
    assert api_names(scalls)[:4] == ["socket", "bind", "listen", "accept"] and io[-1:] == ["recv"], (
        f"step 5 (recv/send): expected ... accept, then recv/send, ending with recv() = 0; strace saw:\n{describe(scalls)}")
    assert named(scalls, "recv")[-1].ret == 0, (
        f"step 5 (recv): the last recv() returns 0 when the client is done; strace saw:\n{describe(scalls)}")
    assert io.count("send") >= 2, f"step 5 (send): one reply per message; strace saw:\n{describe(scalls)}"
    cio = api_names(ccalls)
    assert cio[:2] == ["socket", "connect"] and cio.count("send") >= 2 and "recv" in cio, (
        f"client step 3 (talk): expected socket, connect, then send and recv; strace saw:\n{describe(ccalls)}")


# What a slow or busy network does to send(): it takes 1 byte at a time, and
# every third call is interrupted by a signal before it sends anything
# (tools/sysfault makes the kernel answer so, from outside the program; see src/interpose/README.md).
SHORT_WRITES_AND_EINTR = "send:short=1;send:eintr=every3"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_reply_survives_short_writes_and_eintr(lab):
    """step 5 (send): under injected short writes and EINTR the reply is still exactly b"ok"."""
    server = lab.server(LESSON, env=fault_env(SHORT_WRITES_AND_EINTR))
    sock = lab.connect(server.port)
    for i in range(1, 4):
        sock.sendall(seed_message(i))
        hint = (f"step 5 (send): with send() taking 1 byte per call and EINTR every third call, the reply to "
                f"message {i} must still be b'ok': send the rest until every byte is sent, and call send() "
                f"again after EINTR")
        got = lab.recv_exactly(sock, 2, timeout=5, hint=hint)
        assert got == b"ok", f"{hint}; got {got!r}"
    sock.close()
    rc = server.wait()
    assert rc == 0, f"step 5: short writes and EINTR are not errors: expected exit 0, got {rc}\n{server.stderr}"
    assert server.injected("send"), "the fault injection did not take effect (sysfault reported nothing)"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_messages_survive_short_writes_and_eintr(lab):
    """client step 3 (send): under injected short writes and EINTR every message arrives whole."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-i", "0", "-n", "3", port=port, env=fault_env(SHORT_WRITES_AND_EINTR))
    conn = serve_ok(lab, listener, 3)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (talk): expected nothing after the third message"
    rc = client.wait()
    assert rc == 0, (f"client step 3 (send): short writes and EINTR must be retried, not reported or ignored "
                     f"(expected exit 0, got {rc})\n{client.stderr}")
