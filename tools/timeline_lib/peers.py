#!/usr/bin/env python3
"""peers.py - Python clients that make the lesson servers show TCP's habits.

Usage: peers.py upload HOST PORT BYTES     one big send, then read the replies
       peers.py burst HOST PORT COUNT      COUNT seed messages back to back, then read

upload: the server reads 1023 bytes at a time and answers "ok" to each piece;
this client reads nothing until it has sent everything. The server's second
small "ok" waits for the ACK of its first (Nagle), and this client's kernel
delays that ACK (it has nothing to send it with): about 25 replies a second.
burst: the seed's messages without waiting for replies; with no framing, one
recv() on the server may return two or more messages glued together.
Both then shut down their sending side and read until the server closes.
"""
import socket
import sys

MESSAGE = "这是第%d个超级女生，编号%03d。"


def read_replies(sock):
    sock.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    print("received %d replies (%d bytes)" % (got.count(b"ok"), len(got)))


def main(argv):
    if len(argv) != 5 or argv[1] not in ("upload", "burst") or not argv[4].isdigit():
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    kind, host, port, n = argv[1], argv[2], int(argv[3]), int(argv[4])
    with socket.create_connection((host, port), timeout=30) as sock:
        if kind == "upload":
            sock.sendall(b"u" * n)
            print("sent %d bytes in one sendall()" % n)
        else:
            for i in range(1, n + 1):
                sock.sendall((MESSAGE % (i, i)).encode())
            print("sent %d messages back to back" % n)
        read_replies(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
