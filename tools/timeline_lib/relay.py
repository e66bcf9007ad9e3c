#!/usr/bin/env python3
"""relay.py - a small netem in user space, for kernels without sch_netem.

Runs in the router namespace of capture.Network: reads every IPv4 frame that
arrives on one interface (AF_PACKET), holds it for the delay, maybe drops it,
and sends it out of the other with the right MAC addresses. The router's own
kernel drops all IPv4 (an nftables rule), so each packet crosses once.

Usage: relay.py IF_A MAC_A_PEER IP_A  IF_B MAC_B_PEER IP_B  DELAY JITTER LOSS DROP_NTH
  IF_x: the router's interface; MAC_x_PEER: the host behind it; IP_x: that
  host's address. DELAY, JITTER in seconds, LOSS a fraction (0.1 = 10%),
  DROP_NTH: drop the n-th A->B packet with data once (0: none).
Prints "ready" when it listens; runs until SIGTERM.
"""
import heapq
import random
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def fix_tcp_checksum(ip):
    """A veth may hand over frames whose TCP checksum the sender left to the
    hardware: compute it, or the receiving kernel would drop the segment."""
    ihl = (ip[0] & 0x0f) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    if ip[9] != 6 or total > len(ip):
        return ip
    seg = bytearray(ip[ihl:total])
    seg[16:18] = b"\0\0"
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(seg))
    seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
    return ip[:ihl] + bytes(seg)


def has_data(ip):
    ihl = (ip[0] & 0x0f) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    if ip[9] != 6 or len(ip) < ihl + 20:
        return False
    flags = ip[ihl + 13]
    return total - ihl - (ip[ihl + 12] >> 4) * 4 > 0 and not flags & 0x06   # no SYN, RST


def main(argv):
    if len(argv) != 11:
        print(__doc__, file=sys.stderr)
        return 2
    if_a, mac_a, ip_a, if_b, mac_b, ip_b = argv[1:7]
    delay, jitter, loss, drop_nth = float(argv[7]), float(argv[8]), float(argv[9]), int(argv[10])
    socks = {}
    for name in (if_a, if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        s.bind((name, ETH_P_IP))
        s.setblocking(False)
        with open(f"/sys/class/net/{name}/address") as f:
            own = bytes.fromhex(f.read().strip().replace(":", ""))
        socks[name] = (s, own)
    # Where a packet for each address leaves: (interface, its MAC, the next hop's MAC).
    route = {socket.inet_aton(ip_a): (socks[if_a][0], socks[if_a][1], bytes.fromhex(mac_a.replace(":", ""))),
             socket.inet_aton(ip_b): (socks[if_b][0], socks[if_b][1], bytes.fromhex(mac_b.replace(":", "")))}
    queue, seq, last_due, data_a2b = [], 0, {}, 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        ready, _, _ = select.select([s for s, _ in socks.values()], [], [], timeout)
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65600)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING or len(frame) < 34:
                    continue
                ip = frame[14:]
                out = route.get(ip[16:20])
                if out is None or out[0] is s:
                    continue
                if out[0] is socks[if_b][0] and has_data(ip):
                    data_a2b += 1
                    if data_a2b == drop_nth:
                        continue
                if loss and random.random() < loss:
                    continue
                now = time.monotonic()
                due = now + delay + (random.uniform(-jitter, jitter) if jitter else 0.0)
                due = max(due, last_due.get(out[0], 0.0))     # no reordering
                last_due[out[0]] = due
                seq += 1
                heapq.heappush(queue, (due, seq, out[0], out[2] + out[1] + frame[12:14] +
                                       fix_tcp_checksum(ip)))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, s, frame = heapq.heappop(queue)
            try:
                s.send(frame)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
