#!/usr/bin/env python3
"""sockwatch.py - the TCP states of one port's sockets, as the kernel changes them.

The trace sees a socket's state only after a call on it, and never after
close(): FIN_WAIT2, TIME_WAIT and LAST_ACK happen when no program can look.
This asks the kernel itself (sock_diag netlink, what `ss` uses) every
INTERVAL seconds for the sockets whose local or remote port is PORT, and
prints one JSON line per change, on the trace's clock (CLOCK_REALTIME):

  {"ts": 1796270946.55, "prev": 1796270946.548, "local": "127.0.0.1:58316",
   "remote": "127.0.0.1:42361", "state": "TIME_WAIT", "expires_ms": 59998}

"prev" is the poll before: the change happened between prev and ts.
"expires_ms" is the socket's running timer (TIME_WAIT's 60 s, for one).
A socket that is gone is reported once as state "GONE". Sockets that
already existed when the watch began are left out (an earlier run's
TIME_WAIT on a port number used again). The kernel filters by port (an
inet_diag bytecode), so a machine with thousands of sockets costs little.

Usage: sockwatch.py PORT [INTERVAL]     (in the namespace to watch;
prints "ready" once it has its first picture, runs until SIGTERM or SIGINT)
"""
import json
import os
import signal
import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_JMP, INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ = 1, 11, 12
ALL_STATES = 0xffffffff
# The kernel's TCP states (include/net/tcp_states.h), named as the trace names them.
STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
          6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
          11: "CLOSING", 12: "NEW_SYN_RECV"}
DEFAULT_INTERVAL = 0.002


def port_filter(port):
    """inet_diag bytecode for "local port == PORT or remote port == PORT", as
    ss builds an "or": each test is two 4-byte ops (code, yes, no; then the
    port), "yes" and "no" are how far to jump, and the filter accepts when
    it jumps exactly to the end. A match of the first test jumps to a JMP
    that goes to the end; a miss of the last jumps past the end (reject)."""
    op = struct.Struct("=BBH")
    return (op.pack(INET_DIAG_BC_S_EQ, 8, 12) + op.pack(0, 0, port) +
            op.pack(INET_DIAG_BC_JMP, 4, 12) +
            op.pack(INET_DIAG_BC_D_EQ, 8, 12) + op.pack(0, 0, port))


def request(family, port, seq):
    """One SOCK_DIAG_BY_FAMILY dump request for TCP sockets of FAMILY on PORT."""
    sockid = bytes(48)              # sport, dport, src, dst, if, cookie: all "any"
    req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, ALL_STATES) + sockid
    bc = port_filter(port)
    attr = struct.pack("=HH", 4 + len(bc), INET_DIAG_REQ_BYTECODE) + bc
    body = req + attr
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY,
                       NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def address(family, raw, port):
    if family == socket.AF_INET:
        return "%s:%d" % (socket.inet_ntop(family, raw[:4]), port)
    return "[%s]:%d" % (socket.inet_ntop(family, raw), port)


def dump(nl, port, seq):
    """{(local, remote): (state name, timer ms)} of the TCP sockets on PORT."""
    found = {}
    for family in (socket.AF_INET, socket.AF_INET6):
        seq += 1
        nl.send(request(family, port, seq))
        done = False
        while not done:
            data = nl.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind == NLMSG_DONE:
                    done = True
                    break
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    raise OSError(err, "sock_diag: " + os.strerror(err))
                # struct inet_diag_msg: family, state, timer, retrans; sockid
                # (sport, dport big-endian; src, dst 16 bytes each; if; cookie);
                # expires (ms), rqueue, wqueue, uid, inode.
                fam, state, _timer, _ = struct.unpack_from("=BBBB", data, off + 16)
                sport, dport = struct.unpack_from("!HH", data, off + 20)
                src = data[off + 24:off + 40]
                dst = data[off + 40:off + 56]
                expires = struct.unpack_from("=I", data, off + 68)[0]
                found[(address(fam, src, sport), address(fam, dst, dport))] = (
                    STATES.get(state, str(state)), expires)
                off += (length + 3) & ~3
    return found


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].isdigit():
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    port = int(argv[1])
    interval = float(argv[2]) if len(argv) == 3 else DEFAULT_INTERVAL
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    try:
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
        known = dump(nl, port, 0)
    except OSError as e:
        print("sockwatch: cannot ask the kernel for its sockets (sock_diag): %s" % e,
              file=sys.stderr)
        return 1
    old = set(known)                 # there before the run: not ours to draw
    seen = {k: v[0] for k, v in known.items()}
    print("ready", flush=True)
    prev, seq = time.time(), 2
    while not stop:
        time.sleep(interval)
        seq += 2
        try:
            now_socks = dump(nl, port, seq)
        except InterruptedError:
            continue
        now = time.time()
        for key, (state, expires) in now_socks.items():
            if key in old or seen.get(key) == state:
                continue
            seen[key] = state
            print(json.dumps({"ts": now, "prev": prev, "local": key[0], "remote": key[1],
                              "state": state, "expires_ms": expires}), flush=True)
        for key in [k for k in seen if k not in now_socks and k not in old]:
            if seen[key] != "GONE":
                seen[key] = "GONE"
                print(json.dumps({"ts": now, "prev": prev, "local": key[0], "remote": key[1],
                                  "state": "GONE", "expires_ms": 0}), flush=True)
        prev = now
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
