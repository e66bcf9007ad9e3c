"""Hostile and clumsy peers against lesson 06's server.

Each test plays one bad client with a raw Python socket, then (with -k)
checks that a well-behaved client is still served: one bad peer must never
crash, hang or wedge the server. What the server prints for odd bytes is
checked against quote(), written here from the rule the kit documents
(control bytes, DEL, the C1 controls and invalid UTF-8 as \\xNN, backslash
and quote escaped, printable ASCII and valid UTF-8 as they are).
"""
import errno
import json
import signal
import socket
import threading

import pytest

from labharness import DEFAULT_WAIT, reset
from stderr_facts import errno_facts, line_naming

LESSON = "06-close"
BUF_PAYLOAD = 1023          # the server's BUF_SIZE (1024) less the '\0'


def utf8_length(data, i):
    """Bytes the valid UTF-8 character at data[i] takes, or 0 (also for C1 controls)."""
    b = data[i]
    n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
    if not n or i + n > len(data):
        return 0
    try:
        ch = data[i:i + n].decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return n if ord(ch) >= 0xA0 else 0


def quote(data):
    """How the server shows received bytes on its `received:` lines."""
    out, i = bytearray(), 0
    while i < len(data):
        b = data[i]
        seq = utf8_length(data, i) if b >= 0x80 else 0
        if seq:
            out += data[i:i + seq]
            i += seq
            continue
        if b in (0x5C, 0x22):
            out += b"\\" + bytes([b])
        elif b < 0x20 or b >= 0x7F:
            out += b"\\x%02x" % b
        else:
            out.append(b)
        i += 1
    return bytes(out)


def received_payloads(stdout_bytes):
    """The payloads of the server's `received: ` lines, in order."""
    return [line[len(b"received: "):] for line in stdout_bytes.split(b"\n")
            if line.startswith(b"received: ")]


def keep_server(lab):
    return lab.server(LESSON, "-q", "-k")


def assert_still_serves(lab, server):
    """A well-behaved client after the bad one: served in full, exit 0."""
    r = lab.run_client(LESSON, "-q", "-n", "2", "-i", "0", port=server.port)
    assert r.returncode == 0, r
    assert r.stdout.count("received: ok") == 2
    # The server printed both seed messages: its earlier lines are in, too.
    server.wait_for("received: 这是第2个超级女生，编号002。")
    assert server.popen.poll() is None, "the server died"


def stop(server):
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, server.stderr


def exchange_and_half_close(lab, port, payload):
    """Send payload in one go, half-close, read every reply until the server closes."""
    sock = lab.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    return lab.recv_until_closed(sock)


PAYLOADS = {
    "garbage-text": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "binary-all-bytes": bytes(range(256)),
    "nul-bytes": b"a\x00b\x00\x00c",
    "invalid-utf8": b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc",
    "quotes-and-backslashes": b'say "hi" \\ bye',
    "longer-than-buffer": b"".join(b"x%04d|" % i for i in range(500)),   # 3000 bytes
}


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_server_shows_odd_bytes_safely_answers_each_read_and_keeps_serving(lab, name):
    payload = PAYLOADS[name]
    server = keep_server(lab)
    replies = exchange_and_half_close(lab, server.port, payload)
    assert_still_serves(lab, server)
    lines = received_payloads(server.stdout_bytes)[:-2]     # less the good client's two
    # Every read was answered with "ok", whatever it held.
    assert len(lines) >= 1
    assert replies == b"ok" * len(lines)
    # Each read is at most one buffer; together they are the bytes we sent.
    assert b"".join(lines) == quote(payload)
    assert all(len(line) <= len(quote(payload)) for line in lines)
    stop(server)


def test_server_reads_a_long_message_in_buffer_sized_pieces(lab):
    payload = b"y" * (3 * BUF_PAYLOAD + 5)
    server = keep_server(lab)
    replies = exchange_and_half_close(lab, server.port, payload)
    assert_still_serves(lab, server)
    lines = received_payloads(server.stdout_bytes)[:-2]
    assert len(lines) >= 4                     # it cannot fit in fewer reads
    assert max(len(line) for line in lines) <= BUF_PAYLOAD
    assert b"".join(lines) == payload
    assert replies == b"ok" * len(lines)
    stop(server)


@pytest.mark.slow
def test_server_survives_one_mebibyte_in_one_go(lab):
    payload = b"".join(b"%07d\n" % i for i in range(131072))[: 1 << 20]
    assert len(payload) == 1 << 20
    server = keep_server(lab)
    sock = lab.connect(server.port)
    got = bytearray()

    # Read the replies while sending, so neither side's buffers fill up.
    def reader():
        sock.settimeout(30)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            got.extend(chunk)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    t.join(40)
    assert not t.is_alive(), "the server never closed the connection"
    assert_still_serves(lab, server)
    lines = received_payloads(server.stdout_bytes)[:-2]
    assert b"".join(lines) == quote(payload)
    assert bytes(got) == b"ok" * len(lines)
    stop(server)


def test_server_answers_one_byte_at_a_time(lab):
    server = keep_server(lab)
    sock = lab.connect(server.port)
    for b in b"slow!":
        sock.sendall(bytes([b]))
        # Wait for the answer before the next byte: each byte is one read.
        assert lab.recv_exactly(sock, 2) == b"ok"
    sock.close()
    assert_still_serves(lab, server)
    assert received_payloads(server.stdout_bytes)[:5] == [b"s", b"l", b"o", b"w", b"!"]
    stop(server)


def test_connect_then_close_at_once_is_a_client_that_said_nothing(lab):
    server = keep_server(lab)
    lab.connect(server.port).close()
    assert_still_serves(lab, server)
    assert received_payloads(server.stdout_bytes) == [
        "这是第1个超级女生，编号001。".encode(), "这是第2个超级女生，编号002。".encode()]
    stop(server)


def reset_connection(lab, port, payload=b""):
    """Connect, maybe send, then close with SO_LINGER 0: the kernel sends RST."""
    sock = lab.connect(port)
    if payload:
        sock.sendall(payload)
    reset(sock)


def test_connect_then_reset_is_reported_and_the_next_client_served(lab):
    server = keep_server(lab)
    reset_connection(lab, server.port)
    assert_still_serves(lab, server)
    stop(server)
    # The reset arrives as an error from recv() or, if it raced the accept,
    # as the end of a connection that said nothing; never as a crash.
    err = server.stderr
    assert "ECONNRESET" in err or err == "", err


def test_one_client_server_reports_a_reset_client_and_exits_1(lab):
    server = lab.server(LESSON, "-q")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    assert lab.recv_exactly(sock, 2) == b"ok"    # the server is in recv() now
    reset(sock)
    assert server.wait() == 1
    assert line_naming(server.stderr, errno_facts(errno.ECONNRESET)), server.stderr
    assert "server: hint: the peer reset the connection" in server.stderr


def test_many_resets_in_a_row_do_not_wedge_the_server(lab):
    server = keep_server(lab)
    for i in range(20):
        reset_connection(lab, server.port, payload=b"bye %d" % i)
    assert_still_serves(lab, server)
    stop(server)


def test_half_close_before_sending_ends_the_exchange_cleanly(lab):
    server = keep_server(lab)
    sock = lab.connect(server.port)
    sock.shutdown(socket.SHUT_WR)
    # The server reads end-of-file, closes its side: we read end-of-file too.
    assert lab.recv_until_closed(sock) == b""
    assert_still_serves(lab, server)
    stop(server)


def test_half_close_after_sending_still_gets_the_reply(lab):
    server = lab.server(LESSON, "-q")
    sock = lab.connect(server.port)
    sock.sendall(b"last words")
    sock.shutdown(socket.SHUT_WR)
    assert lab.recv_until_closed(sock) == b"ok"
    assert server.wait() == 0
    assert server.stdout.splitlines()[1:] == ["received: last words", "sent: ok"]


def crowd(port, n):
    """n clients at once; each sends, waits for a reply. Outcome per client:
    'served', 'closed' (EOF), 'reset', 'refused' or 'timeout'."""
    outcomes = [None] * n
    ready = threading.Barrier(n)

    def one(i):
        try:
            ready.wait(DEFAULT_WAIT)
            with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_WAIT) as s:
                s.sendall(b"client %d" % i)
                reply = b""
                while len(reply) < 2:
                    chunk = s.recv(2 - len(reply))
                    if not chunk:
                        break
                    reply += chunk
                outcomes[i] = "served" if reply == b"ok" else "closed"
        except ConnectionRefusedError:
            outcomes[i] = "refused"
        except (ConnectionResetError, BrokenPipeError):
            outcomes[i] = "reset"
        except (socket.timeout, threading.BrokenBarrierError):
            outcomes[i] = "timeout"

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3 * DEFAULT_WAIT)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return outcomes


def test_crowd_at_a_one_client_server_gets_one_served_and_the_rest_a_definite_no(lab):
    server = lab.server(LESSON, "-q")
    outcomes = crowd(server.port, 20)
    assert server.wait() == 0
    assert outcomes.count("served") == 1, outcomes
    assert "timeout" not in outcomes, outcomes
    assert set(outcomes) <= {"served", "closed", "reset", "refused"}, outcomes


def test_crowd_at_a_keep_listening_server_is_served_one_after_another(lab):
    server = keep_server(lab)
    outcomes = crowd(server.port, 20)
    assert outcomes == ["served"] * 20, outcomes
    assert_still_serves(lab, server)
    stop(server)


def test_json_trace_stays_valid_json_whatever_the_bytes(lab):
    server = lab.server(LESSON, "--json", "-k")
    replies = exchange_and_half_close(lab, server.port, PAYLOADS["binary-all-bytes"])
    assert replies.startswith(b"ok")
    assert_still_serves(lab, server)
    stop(server)
    lines = [line for line in server.stderr.splitlines() if line.strip()]
    assert lines, "no trace"
    for line in lines:
        if line.startswith("server: "):
            continue            # a warning, in plain text by design
        json.loads(line)        # each traced call is one JSON object
