"""pcap.py - read a pcap file into TCP packets, with the standard library only.

Why our own reader and not tshark: the format is a 24-byte file header and a
16-byte header per packet (see /usr/include/pcap/pcap.h), and we need only
IPv4/IPv6 + TCP headers from it. tshark would pull in Wireshark (hundreds of
MB) for that, and its field names change between versions.
"""
import ipaddress
import struct

# Link types (the file header's "network" field) we can read.
LINK_ETHERNET = 1       # lo and veth: 14-byte Ethernet header (zero MACs on lo)
LINK_RAW = 101          # a bare IP packet
LINK_SLL = 113          # Linux cooked capture (-i any): 16-byte header
LINK_SLL2 = 276         # Linux cooked v2: 20-byte header

TCP_FLAGS = [(0x01, "FIN"), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"),
             (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR")]


class PcapError(Exception):
    """The file is not a pcap file we can read."""


def read_pcap(path):
    """The TCP packets of pcap file PATH: a list of dicts, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    return parse_pcap(data)


def parse_pcap(data):
    if len(data) < 24:
        if len(data) == 0:
            return []                    # tcpdump stopped before its header
        raise PcapError("shorter than a pcap header")
    magic = data[:4]
    for endian in ("<", ">"):
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xa1b2c3d4, 0xa1b23c4d):
            break
    else:
        raise PcapError("not a pcap file (pcapng? capture with tcpdump -w)")
    scale = 1e-9 if m == 0xa1b23c4d else 1e-6
    link = struct.unpack(endian + "I", data[20:24])[0] & 0x0fffffff
    packets, pos = [], 24
    while pos + 16 <= len(data):
        sec, sub, caplen, _origlen = struct.unpack(endian + "IIII", data[pos:pos + 16])
        frame = data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen
        if len(frame) < caplen:
            break                        # cut short: tcpdump was killed mid-write
        p = parse_frame(link, frame)
        if p is not None:
            p["ts"] = sec + sub * scale
            p["ts_text"] = "%d.%09d" % (sec, sub * (1 if scale == 1e-9 else 1000))
            packets.append(p)
    return packets


def parse_frame(link, frame):
    """A TCP packet of one captured frame, or None if it is not one."""
    if link == LINK_ETHERNET:
        ethertype, ip = struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0, frame[14:]
    elif link == LINK_SLL:
        ethertype, ip = struct.unpack(">H", frame[14:16])[0] if len(frame) >= 16 else 0, frame[16:]
    elif link == LINK_SLL2:
        ethertype, ip = struct.unpack(">H", frame[0:2])[0] if len(frame) >= 20 else 0, frame[20:]
    elif link == LINK_RAW:
        ethertype = 0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86dd
        ip = frame
    else:
        raise PcapError(f"link type {link} is not one we read (use -i lo or a veth)")
    if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 0x0f) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20])
        tcp, tcp_len = ip[ihl:], total - ihl
    elif ethertype == 0x86dd and len(ip) >= 40 and ip[6] == 6:
        total = struct.unpack(">H", ip[4:6])[0]
        src, dst = ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40])
        tcp, tcp_len = ip[40:], total
    else:
        return None                      # not TCP (or IPv6 with extension headers)
    if len(tcp) < 20:
        return None
    sport, dport, seq, ack, off_flags, window = struct.unpack(">HHIIHH", tcp[:16])
    hdr = (off_flags >> 12) * 4
    flags = off_flags & 0xff
    # The timestamp option's TSval tells a retransmission from the first try.
    opts, tsval = tcp[20:hdr], None
    k = 0
    while k < len(opts):
        kind = opts[k]
        if kind == 0:
            break
        if kind == 1:
            k += 1
            continue
        size = opts[k + 1] if k + 1 < len(opts) else 0
        if size < 2:
            break
        if kind == 8 and size == 10:
            tsval = struct.unpack(">I", opts[k + 2:k + 6])[0]
        k += size
    return {"src": str(src), "dst": str(dst), "sport": sport, "dport": dport,
            "seq": seq, "ack": ack, "window": window, "tsval": tsval,
            "flags": [name for bit, name in TCP_FLAGS if flags & bit],
            "len": max(0, tcp_len - hdr),
            "payload": tcp[hdr:hdr + 64].decode("utf-8", "replace")}
