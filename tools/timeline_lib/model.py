"""model.py - put the calls, kernel states and packets of one run on one clock.

Inputs: the two programs' JSON trace events (src/trace.c: "ts" is
CLOCK_REALTIME, the clock tcpdump stamps packets with) and the captured
packets. Output: one dict, the page's data (page.py draws it; tests read it).
"""
import json

LANES = ("server", "client")


def parse_trace(text):
    """The JSON trace events in a program's stderr, and its other lines."""
    events, other = [], []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("{") and s.endswith("}"):
            try:
                e = json.loads(s)
            except ValueError:
                other.append(line)
                continue
            if isinstance(e, dict) and "ts" in e:
                events.append(e)
                continue
        other.append(line)
    return events, other


def packet_label(p):
    """SYN, SYN-ACK, ACK, data 40, FIN, RST: what the packet is, in a word."""
    f = set(p["flags"])
    if "RST" in f:
        word = "RST"
    elif "SYN" in f:
        word = "SYN-ACK" if "ACK" in f else "SYN"
    elif "FIN" in f:
        word = "FIN"
    elif p["len"]:
        return "data %d" % p["len"]
    else:
        return "ACK"
    return word + (" + data %d" % p["len"] if p["len"] else "")


def calls_and_states(lane, events):
    """Timeline items of one program: its calls and its sockets' state changes."""
    items, states = [], {}
    for e in events:
        ts = float(e["ts"])
        if "note" in e and "call" not in e:
            items.append({"kind": "note", "lane": lane, "ts": ts, "text": e["note"], "trace": e})
        elif not e.get("view"):
            items.append({"kind": "call", "lane": lane, "ts": ts, "step": e.get("step"),
                          "label": e.get("label", ""), "call": e.get("call", "?"),
                          "text": e.get("text", e.get("call", "?")), "ret": e.get("ret"),
                          "errno": e.get("errno"), "error": e.get("error"),
                          "trace": e})
        fd, state = e.get("fd"), e.get("state")
        if e.get("call") == "close" and not e.get("view") and e.get("ret") == 0:
            # After close(fd) the number is free: its next socket starts fresh.
            closed = _closed_fd(e.get("text", ""))
            if closed is not None:
                states.pop(closed, None)
        if fd is not None and state and states.get(fd) != state:
            items.append({"kind": "state", "lane": lane, "ts": ts, "fd": fd,
                          "from": states.get(fd), "to": state, "trace": e})
            states[fd] = state
    return items


def _closed_fd(text):
    try:
        return int(text.split("(", 1)[1].split(")", 1)[0])
    except (IndexError, ValueError):
        return None


def side_of(p, server_port):
    """Which program sent packet P: the server sends from its port."""
    return "server" if p["sport"] == server_port else "client"


def pair_packets(departures, arrivals):
    """Match each departing packet with its arrival (same headers, in order);
    None where it never arrived (dropped on the way)."""
    def key(p):
        return (p["src"], p["sport"], p["dst"], p["dport"], p["seq"], p["ack"],
                tuple(p["flags"]), p["len"], p.get("tsval"))
    waiting = {}
    for a in arrivals:
        waiting.setdefault(key(a), []).append(a)
    pairs = []
    for d in departures:
        queue = waiting.get(key(d))
        pairs.append((d, queue.pop(0) if queue else None))
    return pairs


def packet_items(server_port, captures):
    """Timeline items of the packets. CAPTURES: {"server": [...], "client": [...]}
    for two capture points (a NETEM run: each side's own interface), or
    {"lo": [...]} for loopback, where sending and arriving are one instant."""
    if "lo" in captures:
        pairs = [(p, p) for p in captures["lo"]]
    else:
        pairs = []
        for sender, receiver in (("server", "client"), ("client", "server")):
            sent = [p for p in captures.get(sender, []) if side_of(p, server_port) == sender]
            got = [p for p in captures.get(receiver, []) if side_of(p, server_port) == sender]
            pairs += pair_packets(sent, got)
        pairs.sort(key=lambda dp: dp[0]["ts"])
    isn, seen_end, items = {}, {}, []
    for d, a in pairs:
        frm = side_of(d, server_port)
        to = "client" if frm == "server" else "server"
        if "SYN" in d["flags"] and frm not in isn:
            isn[frm] = d["seq"]
        if "ACK" in d["flags"] and "SYN" in d["flags"] and to not in isn:
            isn[to] = (d["ack"] - 1) & 0xffffffff
        rel_seq = (d["seq"] - isn.get(frm, d["seq"])) & 0xffffffff
        rel_ack = (d["ack"] - isn[to]) & 0xffffffff if to in isn and "ACK" in d["flags"] else None
        # A retransmission re-sends sequence space the sender already sent.
        span = d["len"] + ("SYN" in d["flags"]) + ("FIN" in d["flags"])
        end = seen_end.get(frm)
        retrans = span > 0 and end is not None and _before(d["seq"], end)
        if span and (end is None or _before(end, d["seq"] + span)):
            seen_end[frm] = (d["seq"] + span) & 0xffffffff
        items.append({"kind": "packet", "from": frm, "to": to, "ts": d["ts"],
                      "ts_arrive": a["ts"] if a else None, "lost": a is None,
                      "label": packet_label(d), "flags": d["flags"], "len": d["len"],
                      "seq": d["seq"], "ack": d["ack"], "rel_seq": rel_seq,
                      "rel_ack": rel_ack, "window": d["window"],
                      "src": "%s:%d" % (d["src"], d["sport"]),
                      "dst": "%s:%d" % (d["dst"], d["dport"]),
                      "retransmission": retrans, "payload": d["payload"],
                      "ts_text": d["ts_text"]})
    return items


def _before(a, b):
    """Sequence number A comes before B (modulo 2^32)."""
    return ((a - b) & 0xffffffff) >= 0x80000000


def build(server_events, client_events, packets_by_point, server_port, meta):
    """The page's data: every item sorted by time, plus META (titles, notes)."""
    items = calls_and_states("server", server_events) + calls_and_states("client", client_events)
    if packets_by_point is not None:
        items += packet_items(server_port, packets_by_point)
    items.sort(key=lambda i: (i["ts"], 0 if i["kind"] == "call" else 1))
    t0 = items[0]["ts"] if items else 0.0
    for i in items:
        i["t"] = round(i["ts"] - t0, 9)
        if i.get("ts_arrive") is not None:
            i["t_arrive"] = round(i["ts_arrive"] - t0, 9)
    data = dict(meta)
    data["t0"] = t0
    data["items"] = items
    data["counts"] = {
        "calls": sum(1 for i in items if i["kind"] == "call"),
        "states": sum(1 for i in items if i["kind"] == "state"),
        "packets": sum(1 for i in items if i["kind"] == "packet"),
        "retransmissions": sum(1 for i in items if i.get("retransmission")),
        "lost": sum(1 for i in items if i.get("lost")),
    }
    return data
