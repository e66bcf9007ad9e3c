"""Why lesson 07 frames its messages: the seed's protocol loses message boundaries.

Lesson 06's server takes one recv() as one message. Two messages that wait
together in its receive buffer come out of one recv() as one message, with
one "ok" for both. (The other half, one message split over several reads,
is tests/test_faults.py's test_one_message_read_in_pieces_is_answered_piece_by_piece.)
Not graded: it shows lesson 06's server, which lesson 07's grade must not depend on.
"""
import socket

from labharness import seed_message, unread_bytes, wait_until


def test_unframed_server_glues_back_to_back_sends_into_one_message(lab):
    """lesson 07's problem: lesson 06's server takes one recv() as one message; two sends queued together are one."""
    server = lab.server("06-close", "-k")
    busy = lab.connect(server.port)             # keeps the server in recv() on another client
    busy.sendall(b"hello")
    assert lab.recv_exactly(busy, 2) == b"ok"
    sock = lab.connect(server.port)             # queued: the server is not reading it yet
    first, second = seed_message(1), seed_message(2)
    sock.sendall(first)
    sock.sendall(second)
    me = sock.getsockname()[1]
    assert wait_until(lambda: unread_bytes(server.port, me) == len(first + second)), (
        "both messages should wait in the server's receive buffer")
    busy.close()                                # now the server accepts sock: one recv() gets both
    assert lab.recv_exactly(sock, 2) == b"ok"
    sock.shutdown(socket.SHUT_WR)
    assert lab.recv_until_closed(sock) == b"", "two sends, one recv(), one 'ok': the boundary is lost"
    server.wait_for(r"^received: " + (first + second).decode() + "$")
