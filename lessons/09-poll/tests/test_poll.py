"""Lesson 09 (poll): one process serves many clients at once.

The server is one process and one thread: poll() over non-blocking sockets,
a buffer per client for a partial frame and for replies the kernel has not
taken. The protocol is lesson 07's (a 4-byte big-endian length, then the
bytes; each reply is 00 00 00 02 6f 6b). The tests open many raw Python
sockets at once and check that each gets every reply, and that a client
that stops mid-frame, never reads or leaves mid-frame costs only itself.
"""
import signal
import socket
import struct
import threading

import pytest

from labharness import fault_env, seed_message, wait_until
from framed import (MAX_FRAME, OK_FRAME, bytes_until_closed, fd_count, frame, interleaved_rounds,
                    round_trip, run_clients, serve_others_while_one_stops_reading, HOG_FRAMES,
                    hog_hint, assert_idle_with_idle_clients)
from stderr_facts import reported

LESSON = "09-poll"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_hundred_clients_at_once_each_get_every_reply(lab):
    """step 5 (poll): 100 connections open at once, 3 frames each, interleaved: 300 framed oks."""
    server = lab.server(LESSON, "-q")
    socks = [lab.connect(server.port) for _ in range(100)]
    interleaved_rounds(lab, socks)
    assert wait_until(lambda: server.stdout.count("\nreceived: ") >= 300), server.stdout[-2000:]
    lines = set(server.stdout.splitlines())
    missing = [(n, r) for n in range(100) for r in range(1, 4) if f"received: client {n} message {r}" not in lines]
    assert not missing, f"the server should print every message it received; missing {missing[:5]}"
    assert server.popen.poll() is None, f"one process serves them all and goes on\n{server.stderr}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_an_idle_server_with_idle_clients_uses_almost_no_cpu(lab):
    """step 5 (POLLOUT): five clients answered and silent, one with half a frame sent: the server
    sleeps in poll() (it wants the CPU well under a third of a second in one)."""
    assert_idle_with_idle_clients(lab, lab.server(LESSON, "-q"), "poll()", "POLLOUT")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_twenty_clients_run_at_once(lab):
    """steps 4-5: twenty clients (lesson 07's, played by the test) started together all finish
    with every reply."""
    server = lab.server(LESSON, "-q")
    run_clients(lab, server.port, 20, count=5)
    expected = sorted(f"received: {seed_message(i).decode()}" for i in range(1, 6)) * 20
    assert wait_until(lambda: server.stdout.count("\nreceived: ") >= 100), server.stdout[-2000:]
    lines = [l for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert sorted(lines) == sorted(expected), lines[:10]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_frames_written_one_byte_at_a_time_and_ten_in_one_send(lab):
    """step 5 (buffer in): a frame dribbled byte by byte is answered once whole; ten frames in one
    send() get ten replies; a 64 KiB frame (the maximum) is answered too."""
    server = lab.server(LESSON, "-q")
    slow, burst = lab.connect(server.port), lab.connect(server.port)
    slow.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in frame(b"byte by byte"):
        slow.send(bytes([b]))
        # Meanwhile the other client is served: the partial frame waits in its buffer.
    assert lab.recv_exactly(slow, 6) == OK_FRAME
    burst.sendall(b"".join(frame(f"burst {i}".encode()) for i in range(10)))
    assert lab.recv_exactly(burst, 60) == OK_FRAME * 10, "ten frames in one send(): ten replies"
    assert round_trip(lab, burst, b"x" * MAX_FRAME) == OK_FRAME, "a frame of exactly 64 KiB is allowed"
    assert wait_until(lambda: "received: burst 9" in server.stdout), server.stdout[-500:]
    lines = [l for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert lines[:11] == ["received: byte by byte"] + [f"received: burst {i}" for i in range(10)], lines[:11]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_a_client_that_stops_mid_frame_does_not_delay_the_others(lab):
    """step 5 (non-blocking): one client sends a header and half a body, then nothing; ten other
    clients are served meanwhile; when it sends the rest it gets its reply."""
    server = lab.server(LESSON, "-q")
    stalled = lab.connect(server.port)
    whole = frame(b"half now, half later")
    stalled.sendall(whole[:10])
    assert round_trip(lab, lab.connect(server.port), b"probe") == OK_FRAME
    run_clients(lab, server.port, 10)
    stalled.sendall(whole[10:])
    assert lab.recv_exactly(stalled, 6) == OK_FRAME, "its frame, once whole, is answered"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_a_client_that_never_reads_does_not_delay_the_others_and_gets_every_reply_later(lab):
    """step 5 (POLLOUT, back-pressure): a client sends 500,000 frames and reads nothing, so its
    replies (3 MB) pile up beyond what the socket buffers hold; the others are served meanwhile;
    when it reads, every reply is there."""
    frames = HOG_FRAMES
    server = lab.server(LESSON, "-q")
    hog = socket.socket()
    lab.socks.append(hog)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)     # a small window: replies back up
    hog.connect(("127.0.0.1", server.port))
    sender = threading.Thread(target=hog.sendall, args=(frame(b"") * frames,), daemon=True)
    sender.start()
    assert wait_until(lambda: server.stdout.count("received: \n") >= 1000), "the server reads the hog's frames"
    serve_others_while_one_stops_reading(lab, server, hog, hog_hint("POLLOUT"))
    run_clients(lab, server.port, 10)
    assert round_trip(lab, lab.connect(server.port), b"still there?") == OK_FRAME
    got = lab.recv_exactly(hog, 6 * frames, timeout=30)
    assert len(got) == 6 * frames and got == OK_FRAME * frames, (
        f"the hog should get all {frames} replies once it reads; got {len(got) // 6}")
    sender.join(10)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_a_client_that_leaves_mid_frame_is_dropped_and_the_server_goes_on(lab):
    """step 6 (per client): a client closes after half a frame: the server says so, closes it,
    and serves the next."""
    server = lab.server(LESSON, "-q")
    gone = lab.connect(server.port)
    gone.sendall(frame(b"never finished")[:7])  # the header and 3 of the 14 bytes
    assert round_trip(lab, lab.connect(server.port), b"probe") == OK_FRAME   # the 7 bytes were read
    gone.close()
    reported(server, [7, 3, 14], what="the client that left in the middle of a frame")
    run_clients(lab, server.port, 3)
    assert "received: never" not in server.stdout, "half a frame is not a message"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_a_length_above_the_maximum_closes_that_client_only(lab):
    """step 5 (MAX_FRAME): a header announcing 64 KiB + 1 closes that client with a clear message
    on stderr; a client connected meanwhile is still served."""
    server = lab.server(LESSON, "-q")
    other = lab.connect(server.port)
    assert round_trip(lab, other, b"before") == OK_FRAME
    bad = lab.connect(server.port)
    bad.sendall(struct.pack("!I", MAX_FRAME + 1))
    assert bytes_until_closed(lab, bad) == b"", "the server closes that client, with no reply"
    reported(server, [MAX_FRAME + 1], what=f"the frame of {MAX_FRAME + 1} bytes, above the maximum")
    assert round_trip(lab, other, b"after") == OK_FRAME, "the other client is still served"
    assert server.popen.poll() is None


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_server_has_the_same_fds_after_a_thousand_clients(lab):
    """step 6 (per client): after 1000 clients have come and gone, the server has the fds it had."""
    server = lab.server(LESSON, "-q")
    before = fd_count(server.pid)
    for n in range(1000):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            assert round_trip(lab, s, b"%d" % n) == OK_FRAME, f"client {n}"
    assert wait_until(lambda: fd_count(server.pid) == before), (
        f"each client's socket must be closed when it leaves: {before} fds before, "
        f"{fd_count(server.pid)} after 1000 clients")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_sigterm_and_ctrl_c_close_every_client_and_exit_0(lab):
    """step 6: SIGTERM (then, on a second server, SIGINT) ends the loop: every client sees its
    connection closed, the port is free, exit 0."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = lab.server(LESSON, "-q")
        socks = [lab.connect(server.port) for _ in range(5)]
        for s in socks:
            assert round_trip(lab, s, b"hi") == OK_FRAME
        server.signal(sig)
        assert server.wait() == 0, f"{sig.name}: exit 0\n{server.stderr}"
        for s in socks:
            assert bytes_until_closed(lab, s) == b"", f"{sig.name}: each client is closed"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_replies_are_whole_under_short_writes_eintr_and_a_full_send_buffer(lab):
    """step 5 (send loop, POLLOUT): the server's send() writes 1 byte at a time and is interrupted,
    then (second server) finds the send buffer full every other call (EAGAIN): every reply is
    whole. The clients send their frames a byte at a time too."""
    for spec in ("send:short=1;send:eintr=every3;recv:short=2;recv:eintr=every4", "send:eagain=every2"):
        server = lab.server(LESSON, "-q", env=fault_env(spec))
        run_clients(lab, server.port, 10, count=3, pieces=True)
        burst = lab.connect(server.port)
        burst.sendall(b"".join(frame(b"%d" % i) for i in range(10)))
        assert lab.recv_exactly(burst, 60) == OK_FRAME * 10, spec
