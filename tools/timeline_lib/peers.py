#!/usr/bin/env python3
"""peers.py - Python clients that make the lesson servers show TCP's habits.

Usage: peers.py upload HOST PORT BYTES     one big send, then read the replies
       peers.py burst HOST PORT COUNT      COUNT seed messages back to back, then read
       peers.py pieces HOST PORT COUNT     COUNT requests of two 1023-byte pieces, each
                                           answered before the next (two "ok"s)

upload: the server reads 1023 bytes at a time and answers "ok" to each piece;
this client reads nothing until it has sent everything. The server's second
small "ok" waits for the ACK of its first (Nagle), and this client's kernel
delays that ACK (it has nothing to send it with): about 25 replies a second.
pieces: the server answers each 1023-byte piece, so one request gets two
small replies written one after the other; the second waits for the ACK of
the first (Nagle), and the client's kernel delays that ACK because the client
has nothing to send until the second reply comes: about 25 requests a second.
burst: the seed's messages without waiting for replies; with no framing, one
recv() on the server may return two or more messages glued together.
Both then shut down their sending side and read until the server closes.
"""
import socket
import sys

MESSAGE = "这是第%d个超级女生，编号%03d。"
PIECE = 1023    # what the kit's server reads at a time (BUF_SIZE - 1)


def read_replies(sock, got=b""):
    """Say we are done sending, read until the server closes, count the oks."""
    sock.shutdown(socket.SHUT_WR)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    print("received %d replies (%d bytes)" % (got.count(b"ok"), len(got)))


def main(argv):
    if len(argv) != 5 or argv[1] not in ("upload", "burst", "pieces") or not argv[4].isdigit():
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    kind, host, port, n = argv[1], argv[2], int(argv[3]), int(argv[4])
    with socket.create_connection((host, port), timeout=30) as sock:
        if kind == "upload":
            sock.sendall(b"u" * n)
            print("sent %d bytes in one sendall()" % n)
        elif kind == "pieces":
            replies = b""
            for i in range(1, n + 1):
                sock.sendall(b"p" * (2 * PIECE))
                want = len(replies) + 4          # two "ok"s
                while len(replies) < want:
                    chunk = sock.recv(want - len(replies))
                    if not chunk:
                        print("the server closed early", file=sys.stderr)
                        return 1
                    replies += chunk
            print("sent %d requests of %d bytes, each answered with two oks" % (n, 2 * PIECE))
            read_replies(sock, replies)
            return 0
        else:
            for i in range(1, n + 1):
                sock.sendall((MESSAGE % (i, i)).encode())
            print("sent %d messages back to back" % n)
        read_replies(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
