"""model.py - put the calls, kernel states and packets of one run on one clock.

Inputs: the two programs' JSON trace events (src/interpose/trace.c: "start"
when a call began, "ts" when it returned, both CLOCK_REALTIME, the clock
tcpdump stamps packets with), the captured packets, and the socket states
sockwatch.py saw after the programs could no longer look (TIME_WAIT).
Output: one dict, the page's data (page.py draws it; tests read it). Every
item has "t", seconds after "t0"; a call has "t_start" and "t_end" too (its
"t" is "t_end"), a packet that crossed a link "t_arrive".
"""
import json

LANES = ("server", "client")
# The calls that hand bytes to the kernel, and those that take them back.
SEND_CALLS = ("send", "sendto", "sendmsg", "write", "writev")
RECV_CALLS = ("recv", "recvfrom", "recvmsg", "read", "readv", "__recv_chk",
              "__recvfrom_chk", "__read_chk")
# States no trace line can show: they come after close(), when no program can
# ask the kernel. sockwatch.py sees them; the page draws them on the lane.
CLOSING_STATES = ("FIN_WAIT1", "FIN_WAIT2", "CLOSING", "TIME_WAIT", "LAST_ACK")
# A watched state the trace already showed, this close before, is not drawn twice.
SAME_STATE_WINDOW = 0.05


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
            start = float(e.get("start", ts))
            items.append({"kind": "call", "lane": lane, "ts": ts, "ts_start": min(start, ts),
                          "step": e.get("step"),
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


def lane_of_socket(local, remote, server_port):
    """The server's sockets have its port on their side; the client's on the far side."""
    if local.rsplit(":", 1)[-1] == str(server_port):
        return "server"
    if remote.rsplit(":", 1)[-1] == str(server_port):
        return "client"
    return None


def watched_items(watched, server_port, items):
    """State items for what sockwatch.py saw (WATCHED: its JSON lines as dicts).
    A lane whose calls are traced gets the closing states only (the trace
    shows the others, after each call) and, after those, the connection's
    end; an untraced lane (a Python peer) gets every state."""
    traced = {i["lane"] for i in items if i["kind"] == "call"}
    shown = [(i["lane"], i["to"], i["ts"]) for i in items if i["kind"] == "state"]
    out, last = [], {}
    for w in sorted(watched, key=lambda w: w["ts"]):
        lane = lane_of_socket(w["local"], w["remote"], server_port)
        if lane is None:
            continue
        conn = (w["local"], w["remote"])
        before, state = last.get(conn), w["state"]
        last[conn] = state
        if state == "GONE":
            # The end of a connection drawn closing: the kernel freed it.
            if not any(o["conn"] == "%s > %s" % conn for o in out):
                continue
            state = "CLOSED"
        elif lane in traced and state not in CLOSING_STATES:
            continue
        if any(l == lane and to == state and w["prev"] - SAME_STATE_WINDOW <= ts <= w["ts"]
               for l, to, ts in shown):
            continue
        item = {"kind": "state", "lane": lane, "ts": float(w["ts"]),
                "ts_before": float(w["prev"]), "fd": None, "from": before, "to": state,
                "watched": True, "conn": "%s > %s" % conn, "trace": w}
        if state == "TIME_WAIT" and w.get("expires_ms"):
            item["remaining"] = w["expires_ms"] / 1000.0     # when it was seen
        out.append(item)
    return out


def anchor_watched(items):
    """Put each watched state at the packet that made it. A poll sees a state
    some time after it began (between "ts_before" and "ts"); TCP changes state
    when a segment leaves or arrives, so the state is drawn at the last packet
    of its side in that window (a TIME_WAIT at the ACK of the peer's FIN), or
    where it was seen when there is none. "ts_seen" keeps when it was seen."""
    events = {"server": [], "client": []}
    for p in (i for i in items if i["kind"] == "packet"):
        events[p["from"]].append(p["ts"])
        if not p["lost"]:
            events[p["to"]].append(p["ts_arrive"] if p["ts_arrive"] is not None else p["ts"])
    last = {}
    for i in sorted((i for i in items if i.get("watched")), key=lambda i: i["ts"]):
        lo = max(i["ts_before"], last.get(i["conn"], i["ts_before"]))
        inside = [t for t in events[i["lane"]] if lo < t <= i["ts"]]
        i["ts_seen"] = i["ts"]
        if inside:
            i["ts"] = max(inside)
        last[i["conn"]] = i["ts"]


def build(server_events, client_events, packets_by_point, server_port, meta, watched=None):
    """The page's data: every item sorted by time, plus META (titles, notes)."""
    items = calls_and_states("server", server_events) + calls_and_states("client", client_events)
    if packets_by_point is not None:
        items += packet_items(server_port, packets_by_point)
    if watched:
        items += watched_items(watched, server_port, items)
        anchor_watched(items)
    items.sort(key=lambda i: (i["ts"], 0 if i["kind"] == "call" else 1))
    t0 = min([i["ts"] for i in items] + [i["ts_start"] for i in items if "ts_start" in i],
             default=0.0)
    for i in items:
        i["t"] = round(i["ts"] - t0, 9)
        if i.get("ts_arrive") is not None:
            i["t_arrive"] = round(i["ts_arrive"] - t0, 9)
        if "ts_start" in i:
            i["t_start"] = round(i["ts_start"] - t0, 9)
            i["t_end"] = i["t"]
        if "ts_before" in i:
            i["t_before"] = round(i["ts_before"] - t0, 9)
            i["t_seen"] = round(i["ts_seen"] - t0, 9)
            if "remaining" in i:
                # TIME_WAIT's whole length, from where it is drawn to its timer's end.
                i["lasts"] = round(i["t_seen"] + i["remaining"] - i["t"], 6)
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
