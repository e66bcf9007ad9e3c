"""Lesson 05 (send/recv): the seed's exchange, step 5 of demo6, step 3 of demo5.

The server prints each message it receives and answers exactly b"ok"; the
client sends the seed's messages (`这是第%d个超级女生，编号%03d。`, no NUL
on the wire), waits for the whole "ok" after each, and pauses -i SEC.
A Python socket plays the other side, so every byte on the wire is checked.
"""
import re
import time

import pytest

from labharness import fault_env, parse_strace, seed_message, socket_call_names

LESSON = "05-send-recv"


def serve_ok(lab, listener, count):
    """A raw Python server peer: accept, then for each of the seed's messages
    check the exact bytes and answer b"ok". Returns the connected socket."""
    conn, _ = lab.accept(listener)
    for i in range(1, count + 1):
        want = seed_message(i)
        got = lab.recv_exactly(conn, len(want))
        assert got == want, f"client step 3 (talk): message {i} on the wire should be {want!r}, got {got!r}"
        conn.sendall(b"ok")
    return conn


def exchange_lines(count):
    out = []
    for i in range(1, count + 1):
        out += [f"sent: {seed_message(i).decode()}", "received: ok"]
    return out


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_server_replies_ok_to_each_message_and_prints_it(lab):
    """step 5 (recv/send): each message in -> exactly b"ok" out; stdout shows both."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    for i in range(1, 4):
        sock.sendall(seed_message(i))
        assert lab.recv_exactly(sock, 2) == b"ok", f"step 5 (send): the reply to message {i} is b'ok'"
    # A short message after longer ones: only the bytes recv() returned count.
    sock.sendall(b"hi")
    assert lab.recv_exactly(sock, 2) == b"ok", "step 5 (send): the reply to b'hi' is b'ok'"
    sock.close()
    assert server.wait() == 0, f"step 5: the client closed; the server exits 0\n{server.stderr}"
    lines = server.stdout.splitlines()
    assert lines[0] == f"listening on 0.0.0.0:{server.port}", server.stdout
    want = []
    for i in range(1, 4):
        want += [f"received: {seed_message(i).decode()}", "sent: ok"]
    want += ["received: hi", "sent: ok"]
    assert lines[1:] == want, f"step 5 (recv/send): stdout should show each message and each reply\n{server.stdout}"
    err = server.stderr
    assert "step 5 talk  recv(4, buf, 1023, 0) = 40" in err, err
    assert 'step 5 talk  send(4, "ok", 2, MSG_NOSIGNAL) = 2' in err, err


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_client_sends_the_seeds_ten_messages_byte_for_byte(lab):
    """client step 3 (talk): the ten seed messages, exact UTF-8 bytes, one "ok" awaited after each."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-i", "0", port=port)
    conn = serve_ok(lab, listener, 10)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (talk): nothing after the tenth message"
    assert client.wait() == 0, f"client step 3 (talk): the client should exit 0\n{client.stderr}"
    assert client.stdout.splitlines() == exchange_lines(10), (
        f"client step 3 (talk): stdout alternates 'sent: MESSAGE' and 'received: ok'\n{client.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_count_and_interval_options(lab):
    """client step 3 (talk): -n 2 sends two messages; -i 0.3 waits 0.3 s between them."""
    listener, port = lab.listen()
    start = time.monotonic()
    client = lab.client(LESSON, "-n", "2", "-i", "0.3", port=port)
    conn = serve_ok(lab, listener, 2)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (talk): -n 2 means exactly two messages"
    assert client.wait() == 0, client.stderr
    elapsed = time.monotonic() - start
    assert elapsed >= 0.3, f"client step 3 (talk): -i 0.3 should pause between the two messages ({elapsed:.2f}s)"
    assert client.stdout.splitlines() == exchange_lines(2), client.stdout


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_reply_split_in_two_pieces_still_counts_as_ok(lab):
    """client step 3 (recv): b"o" then b"k" in two segments: the client reads until it has both bytes."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "1", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.sendall(b"o")
    # Only once the client has read the first byte does the second go out.
    client.wait_for(r"recv\(3, buf, 2, 0\) = 1$", stream="stderr")
    conn.sendall(b"k")
    assert client.wait() == 0, f"client step 3 (recv): a split reply is still ok (exit 0)\n{client.stderr}"
    assert "recv(3, buf, 1, 0) = 1" in client.stderr, (
        f"client step 3 (recv): the client asks again for the one missing byte\n{client.stderr}")
    assert client.stdout.splitlines() == exchange_lines(1), client.stdout


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_reply_other_than_ok_fails_with_a_message(lab):
    """client step 3 (recv): a reply b"no" is not "ok": exit 1 and say so."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "3", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.sendall(b"no")
    assert client.wait() == 1, f"client step 3 (recv): a wrong reply is a runtime failure (exit 1)\n{client.stderr}"
    assert re.search(r'^client: unexpected reply to message 1\b.*expected "ok"', client.stderr, re.M), (
        f"client step 3 (recv): the error names the message and the expected reply\n{client.stderr}")
    assert "sent: " + seed_message(2).decode() not in client.stdout, (
        f"client step 3: no second message after a wrong reply\n{client.stdout}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_closing_before_the_reply_is_reported(lab):
    """client step 3 (recv): the server closes instead of replying: exit 1, which message was lost."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-n", "2", "-i", "0", port=port)
    conn, _ = lab.accept(listener)
    assert lab.recv_exactly(conn, len(seed_message(1))) == seed_message(1)
    conn.close()
    assert client.wait() == 1, f"client step 3 (recv): a lost reply is a runtime failure\n{client.stderr}"
    assert ("client: the server closed the connection before replying to message 1 of 2 (0 acknowledged)"
            in client.stderr), client.stderr


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_server_and_client_make_recv_and_send_calls(lab, tmp_path):
    """step 5 (recv/send): strace sees accept, then recv/send per message, and the client send/recv."""
    slog, clog = tmp_path / "server.strace", tmp_path / "client.strace"
    server = lab.server(LESSON, strace=slog)
    client = lab.run_client(LESSON, "-n", "2", "-i", "0", port=server.port, strace=clog)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    scalls, ccalls = parse_strace(slog), parse_strace(clog)
    assert socket_call_names(scalls) == ["socket", "bind", "listen", "accept",
                                         "recv", "send", "recv", "send", "recv"], (
        f"step 5 (recv/send): server calls should be ... accept, (recv, send) x2, recv = 0; strace saw {scalls}")
    assert scalls[-1][0] in ("recvfrom", "recv") and scalls[-1][2].startswith("0"), (
        f"step 5 (recv): the last recv returns 0 when the client is done; strace saw {scalls}")
    after_accept = scalls[[c[0] for c in scalls].index("accept4" if any(c[0] == "accept4" for c in scalls) else "accept"):]
    assert not [c for c in after_accept if c[0] == "close" and c[1] in ("3", "4")], (
        f"step 6 (close) is lesson 06: lesson 05's server leaves closing to exit(); strace saw {scalls}")
    assert socket_call_names(ccalls) == ["socket", "connect", "send", "recv", "send", "recv"], (
        f"client step 3 (talk): client calls should be socket, connect, (send, recv) x2; strace saw {ccalls}")


# What a slow or busy network does to send(): it takes 1 byte at a time, and
# every third call is interrupted by a signal before it sends anything
# (build/libfault.so makes the kernel answer so; see fault/README.md).
SHORT_WRITES_AND_EINTR = "send:short=1;send:eintr=every3"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_reply_survives_short_writes_and_eintr(lab):
    """step 5 (send): under injected short writes and EINTR the reply is still exactly b"ok"."""
    server = lab.server(LESSON, env=fault_env(SHORT_WRITES_AND_EINTR))
    sock = lab.connect(server.port)
    for i in range(1, 4):
        sock.sendall(seed_message(i))
        got = lab.recv_exactly(sock, 2, timeout=5)
        assert got == b"ok", (
            f"step 5 (send): with send() taking 1 byte per call and EINTR every third call, the reply to "
            f"message {i} must still be b'ok', got {got!r}: loop until every byte is sent (send_all) "
            f"and call send() again after EINTR")
    sock.close()
    assert server.wait() == 0, f"step 5: short writes and EINTR are not errors; exit 0\n{server.stderr}"
    assert "[injected: short write]" in server.stderr, "the fault injection did not take effect"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_client_messages_survive_short_writes_and_eintr(lab):
    """client step 3 (send): under injected short writes and EINTR every message arrives whole."""
    listener, port = lab.listen()
    client = lab.client(LESSON, "-i", "0", "-n", "3", port=port, env=fault_env(SHORT_WRITES_AND_EINTR))
    conn = serve_ok(lab, listener, 3)
    assert lab.recv_until_closed(conn) == b"", "client step 3 (talk): nothing after the third message"
    assert client.wait() == 0, (
        f"client step 3 (send): short writes and EINTR must be retried, not reported or ignored\n{client.stderr}")
    assert client.stdout.splitlines() == exchange_lines(3), client.stdout
