"""test_timeline.py - tools/timeline: one page of a run's calls, states and packets.

The page's data is JSON inside the page (<script id="timeline-data">): the
tests read it back and check the order of calls and packets on one clock,
the RST of a close with unread data, a retransmission after a dropped
packet, the calls-only page without capture, and that Chromium draws it.
Capture needs root and tcpdump; namespaces need iproute2 and nftables:
without them those tests skip (and fail under CI=true, which installs them).
"""
import html
import importlib.machinery
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import types
import zlib
from pathlib import Path

import pytest

from labharness import BUILD, ROOT

sys.path.insert(0, str(ROOT / "tools"))
from timeline_lib import capture, model, page, pcap  # noqa: E402

TIMELINE = ROOT / "tools" / "timeline"
LESSONS = sorted(d.name[:2] for d in (ROOT / "lessons").glob("[0-9][0-9]-*") if d.is_dir())
IN_CI = os.environ.get("CI", "").lower() == "true"
PY = sys.executable


def need(ok, why):
    """Skip when a requirement is missing, but fail under CI, which must provide it."""
    if ok:
        return
    if IN_CI:
        pytest.fail(why + "; CI=true, so .ci/run must provide it")
    pytest.skip(why)


def need_capture():
    need(os.geteuid() == 0, "capturing packets needs root")
    need(shutil.which("tcpdump"), "tcpdump is not installed (apt-get install tcpdump)")


def timeline(out, *args, env=None, user=None, timeout=60):
    """Run tools/timeline writing OUT; (the CompletedProcess, the page's data or None)."""
    argv = [PY, str(TIMELINE), "--build", str(BUILD), "-o", str(out), *map(str, args)]
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    full_env = dict(os.environ, NO_COLOR="1")
    full_env.pop("LAB_TIMELINE_NO_CAPTURE", None)
    full_env.update(env or {})
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env)
    data = page.read_data(Path(out).read_text(encoding="utf-8")) if r.returncode == 0 else None
    return r, data


# The trace's timestamps have 0.1 us steps; the capture's are nanoseconds.
CLOCK_STEP = 1e-6


def arrival(p):
    """When packet P reached the other side (on loopback: when it left)."""
    return p["t_arrive"] if p.get("t_arrive") is not None else p["t"]


def causality_faults(data):
    """What on the page contradicts cause and effect, in words; [] when nothing does.
    - a data packet leaves only after the calls that handed its bytes to the kernel
      started: the send-like calls of its side started before it hold its last byte;
    - a recv-like call returns only bytes that had arrived: by its end, its side had
      received at least every byte its recv-like calls returned so far;
    - connect()'s span holds its SYN leaving and the SYN-ACK arriving;
    - accept() returns after the handshake's last ACK reached the server.
    Lanes without traced calls (a Python peer) are not judged."""
    faults, items = [], data["items"]
    pkts = [p for p in items if p["kind"] == "packet"]
    for c in (i for i in items if i["kind"] == "call"):
        if not c["t_start"] <= c["t_end"] == c["t"]:
            faults.append(f"{c['lane']} {c['text']}: starts {c['t_start']} after it ends {c['t_end']}")
    for lane in ("server", "client"):
        mine = [c for c in items if c["kind"] == "call" and c["lane"] == lane]
        if not mine:
            continue
        sends = [c for c in mine if c["call"] in model.SEND_CALLS and (c["ret"] or 0) > 0]
        for p in (p for p in pkts if p["from"] == lane and p["len"]):
            handed = sum(c["ret"] for c in sends if c["t_start"] <= p["t"] + CLOCK_STEP)
            if handed < p["rel_seq"] - 1 + p["len"]:
                faults.append(f"{lane}'s {p['label']} (bytes {p['rel_seq']}..) leaves at {p['t']}, "
                              f"when its send calls had begun to hand over {handed} bytes")
        recvs = sorted((c for c in mine if c["call"] in model.RECV_CALLS and (c["ret"] or 0) > 0),
                       key=lambda c: c["t_end"])
        taken = 0
        for c in recvs:
            taken += c["ret"]
            came = max([p["rel_seq"] - 1 + p["len"] for p in pkts
                        if p["to"] == lane and p["len"] and not p["lost"]
                        and arrival(p) <= c["t_end"] + CLOCK_STEP], default=0)
            if came < taken:
                faults.append(f"{lane}'s {c['text']} returns at {c['t_end']} with {taken} bytes in "
                              f"all, when {came} had arrived")
        for c in (c for c in mine if c["call"] == "connect" and c["ret"] == 0):
            syn = [p for p in pkts if p["from"] == lane and p["label"] == "SYN"]
            synack = [p for p in pkts if p["to"] == lane and p["label"] == "SYN-ACK"]
            if not syn or not synack:
                faults.append(f"{lane}'s connect: no SYN or SYN-ACK on the page")
                continue
            if not (c["t_start"] - CLOCK_STEP <= syn[0]["t"] and
                    arrival(synack[-1]) <= c["t_end"] + CLOCK_STEP):
                faults.append(f"{lane}'s connect {c['t_start']}..{c['t_end']} does not hold its "
                              f"SYN ({syn[0]['t']}) and SYN-ACK ({arrival(synack[-1])})")
        for c in (c for c in mine if c["call"] in ("accept", "accept4") and (c["ret"] or -1) >= 0):
            acks = [p for p in pkts if p["to"] == lane and p["label"] == "ACK" and p["rel_seq"] == 1]
            if acks and arrival(acks[0]) > c["t_end"] + CLOCK_STEP:
                faults.append(f"{lane}'s accept returns at {c['t_end']}, before the handshake's "
                              f"ACK arrived ({arrival(acks[0])})")
    return faults


def calls(data, lane, name=None):
    return [i for i in data["items"] if i["kind"] == "call" and i["lane"] == lane
            and (name is None or i["call"] == name)]


def packets(data, label=None, sender=None):
    return [i for i in data["items"] if i["kind"] == "packet"
            and (label is None or i["label"] == label) and (sender is None or i["from"] == sender)]


@pytest.fixture(scope="module")
def lesson06(tmp_path_factory):
    """Lesson 06's pair on loopback, three messages, drawn once for several tests."""
    need_capture()
    out = tmp_path_factory.mktemp("timeline") / "06.html"
    r, data = timeline(out, "--lesson", "06", "-n", "3", "-i", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    return out, data


# --- lesson 06 on loopback ------------------------------------------------------

def test_page_holds_the_calls_of_both_programs(lesson06):
    _, data = lesson06
    server = [c["call"] for c in calls(data, "server")]
    client = [c["call"] for c in calls(data, "client")]
    assert [c for c in server if c in ("socket", "bind", "listen", "accept")] == \
        ["socket", "bind", "listen", "accept"]
    assert server.count("recv") == 4 and server.count("send") == 3 and server.count("close") == 2
    assert client[0] == "socket" and "connect" in client and client[-1] == "close"
    assert client.count("send") == 3 and client.count("recv") == 3
    states = [(i["lane"], i["to"]) for i in data["items"] if i["kind"] == "state"]
    assert ("server", "LISTEN") in states and ("server", "CLOSE_WAIT") in states
    assert ("client", "ESTABLISHED") in states


def test_lesson06_page_is_causal(lesson06):
    _, data = lesson06
    assert not causality_faults(data)
    # Each call is a span: the client's connect() began before its SYN left.
    syn, = packets(data, "SYN", "client")
    connect, = calls(data, "client", "connect")
    accept, = calls(data, "server", "accept")
    assert connect["t_start"] < syn["t"] < connect["t_end"]
    # accept() waited: it began before the client even started, and returned after.
    assert accept["t_start"] < calls(data, "client")[0]["t_start"] < accept["t_end"]


def test_lesson06_page_shows_the_clients_time_wait_after_it_exits(lesson06):
    """The client closes first: FIN_WAIT, then TIME_WAIT once the server's FIN came.
    No trace line can show it (the program has closed the socket, then exited); the
    socket watch does, on the client's lane, with its 60 s."""
    _, data = lesson06
    tw = [i for i in data["items"] if i["kind"] == "state" and i["to"] == "TIME_WAIT"]
    assert len(tw) == 1 and tw[0]["lane"] == "client" and tw[0]["watched"], tw
    s_fin, = packets(data, "FIN", "server")
    c_close, = calls(data, "client", "close")
    # After the server's FIN reached the client and after the client's close()
    # began (it may return a moment later: the FIN can come back first).
    assert tw[0]["t"] >= arrival(s_fin) and tw[0]["t"] > c_close["t_start"]
    assert 55 < tw[0]["lasts"] <= 60.5, tw[0]
    # The server closed second: it never enters TIME_WAIT.
    assert not any(i["kind"] == "state" and i["lane"] == "server" and i["to"] == "TIME_WAIT"
                   for i in data["items"])


def test_handshake_comes_before_connect_and_accept_return(lesson06):
    _, data = lesson06
    syn, = packets(data, "SYN", "client")
    synack, = packets(data, "SYN-ACK", "server")
    connect, = calls(data, "client", "connect")
    accept, = calls(data, "server", "accept")
    listen, = calls(data, "server", "listen")
    # The trace stamps a call when it returns; the packets are stamped on the wire.
    assert listen["t"] < syn["t"] < synack["t"] < connect["t"]
    assert synack["t"] < accept["t"]
    assert [p["len"] for p in packets(data) if p["from"] == "client" and p["len"]] == [40] * 3
    assert [p["len"] for p in packets(data) if p["from"] == "server" and p["len"]] == [2] * 3


def test_each_fin_goes_out_during_its_close(lesson06):
    _, data = lesson06
    c_fin, = packets(data, "FIN", "client")
    s_fin, = packets(data, "FIN", "server")
    c_close, = calls(data, "client", "close")
    s_eof = [c for c in calls(data, "server", "recv") if c["ret"] == 0]
    s_close4 = [c for c in calls(data, "server", "close") if c["text"] == "close(4)"]
    assert len(s_eof) == 1 and len(s_close4) == 1
    last_send = calls(data, "client", "recv")[-1]
    assert last_send["t"] < c_fin["t"] < c_close["t"]
    assert c_fin["t"] < s_eof[0]["t"] < s_fin["t"] < s_close4[0]["t"]
    assert not packets(data, "RST")


def test_page_is_self_contained(lesson06):
    out, _ = lesson06
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', text), \
        "the page loads something from outside"
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text


# --- close with unread data: RST ----------------------------------------------------

UNREAD_SERVER = r"""
import select, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
conn, _ = s.accept()
select.select([conn], [], [], 10)     # the client's bytes have arrived...
conn.close()                          # ...and are closed unread: RST, not FIN
"""
UNREAD_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.sendall(b"never read")
try:
    print("recv:", c.recv(10))
except ConnectionResetError as e:
    print("reset:", e)
"""


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lessons_page_is_causal(tmp_path, lesson):
    """Each lesson's page as `make docs` draws it: calls as spans that agree with
    the packets (see causality_faults)."""
    need_capture()
    r, data = timeline(tmp_path / "l.html", "--lesson", lesson, "-n", "3", "-i", "0.05")
    assert r.returncode == 0, r.stderr
    assert calls(data, "server"), "no calls drawn"
    if lesson >= "03":
        assert packets(data, "SYN") and calls(data, "client", "connect")
    if lesson >= "05":
        assert [p for p in packets(data) if p["len"]], "no data packets: nothing to judge"
    assert not causality_faults(data)


def test_close_with_unread_data_sends_rst_instead_of_fin(tmp_path):
    need_capture()
    (tmp_path / "server.py").write_text(UNREAD_SERVER)
    (tmp_path / "client.py").write_text(UNREAD_CLIENT)
    r, data = timeline(tmp_path / "rst.html", "--", PY, tmp_path / "server.py", "{port}",
                       "--", PY, tmp_path / "client.py", "{host}", "{port}")
    assert r.returncode == 0, r.stderr
    data_pkt, = packets(data, "data 10", "client")
    rst = packets(data, "RST", "server")
    assert rst and rst[0]["t"] > data_pkt["t"]
    assert not packets(data, "FIN", "server")
    assert "reset:" in data["client_stdout"]
    if not (BUILD / "libsocketlab.so").exists():
        # No preload tracer: the packets are drawn and the page says why the calls are not.
        assert data["counts"]["calls"] == 0
        assert any(n.startswith("server and client: no calls drawn, because the preload tracer")
                   for n in data["notes"])


def test_lesson03_exit_with_a_queued_client_resets_it(tmp_path):
    need_capture()
    r, data = timeline(tmp_path / "03.html", "--lesson", "03")
    assert r.returncode == 0, r.stderr
    assert any("has no client of its own" in n for n in data["notes"])
    assert not calls(data, "server", "accept")
    handshake = [p["label"] for p in packets(data)][:3]
    assert handshake == ["SYN", "SYN-ACK", "ACK"]
    assert packets(data, "RST", "server"), "the queued, unaccepted connection is reset"


# --- no capture ----------------------------------------------------------------------

def test_no_capture_gives_the_calls_and_says_why(tmp_path):
    r, data = timeline(tmp_path / "nocap.html", "--lesson", "06", "-n", "2", "-i", "0",
                       env={"LAB_TIMELINE_NO_CAPTURE": "test"})
    assert r.returncode == 0, r.stderr
    assert data["counts"]["packets"] == 0
    assert calls(data, "server", "accept") and calls(data, "client", "connect")
    assert any(n.startswith("No packets: capture turned off (LAB_TIMELINE_NO_CAPTURE=test)")
               for n in data["notes"])
    assert "No packets: capture turned off" in (tmp_path / "nocap.html").read_text()


def test_without_the_right_to_capture_the_page_says_so(tmp_path):
    need_capture()
    need(shutil.which("setpriv"), "setpriv is missing (util-linux)")
    probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "test", "-x", str(BUILD / "06-close" / "server")])
    if probe.returncode != 0:
        pytest.skip("user nobody cannot reach the built programs from here")
    out_dir = Path(tempfile.mkdtemp(prefix="timeline-nobody."))
    try:
        out_dir.chmod(0o777)
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "/usr/bin/python3", str(TIMELINE), "--build", str(BUILD), "--lesson", "06",
                "-n", "1", "-o", str(out_dir / "p.html")]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"})
        assert r.returncode == 0, r.stderr
        data = page.read_data((out_dir / "p.html").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(out_dir)
    assert data["counts"]["packets"] == 0 and data["counts"]["calls"] > 10
    note, = [n for n in data["notes"] if n.startswith("No packets")]
    assert "tcpdump could not capture on lo" in note and "not permitted" in note


# --- a lossy network -----------------------------------------------------------------

def test_a_dropped_packet_shows_as_lost_then_retransmitted(tmp_path):
    need_capture()
    need(shutil.which("ip"), "ip is not installed (apt-get install iproute2)")
    need(shutil.which("nft"), "nft is not installed (apt-get install nftables)")
    r, data = timeline(tmp_path / "drop.html", "--lesson", "06", "-n", "3", "-i", "0.1",
                       "--drop", "2")
    assert r.returncode == 0, r.stderr
    lost = [p for p in packets(data) if p["lost"]]
    again = [p for p in packets(data) if p["retransmission"]]
    assert len(lost) == 1 and lost[0]["from"] == "client" and lost[0]["len"] == 40
    assert again and again[0]["seq"] == lost[0]["seq"] and not again[0]["lost"]
    assert again[0]["t"] > lost[0]["t"]
    assert not causality_faults(data)
    # The title says where it ran: namespaces through a router, not loopback.
    assert "network namespaces" in data["title"] and "router" in data["title"]
    assert "loopback" not in data["title"] and data["where"] == "namespaces"
    # Every message still got through, and the namespaces are gone.
    assert data["client_status"] == 0 and data["server_status"] == 0
    assert data["client_stdout"].count("received: ok") == 3
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not re.search(r"^tl%d\d{3}[crs]\b" % (os.getpid() % 100000), left, re.M)


# --- Chromium draws it -------------------------------------------------------------

def png_pixels(data):
    """Decode an 8-bit RGB/RGBA PNG with zlib only: (width, height, channels, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            chans = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    raw, stride = zlib.decompress(b"".join(idat)), width * chans
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - chans] if i >= chans else 0
            b, c = prev[i], (prev[i - chans] if i >= chans else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, chans, rows


def chromium(tmp_path, url, *mode, size=(1200, 900)):
    need(shutil.which("chromium"), "chromium is not installed (apt-get install chromium)")
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
           f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={size[0]},{size[1]}",
           *mode, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=50)


@pytest.mark.slow
def test_chromium_draws_lanes_and_arrows_without_errors(lesson06, tmp_path):
    out, data = lesson06
    dom = chromium(tmp_path, out.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l]
    assert not console, "console messages:\n" + "\n".join(console)
    assert 'id="timeline-svg"' in dom.stdout
    n_items = len(data["items"])
    assert dom.stdout.count("<g ") >= n_items       # one group per call, state, packet
    shot = tmp_path / "shot.png"
    r = chromium(tmp_path, out.as_uri(), f"--screenshot={shot}")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    w, h, chans, rows = png_pixels(shot.read_bytes())

    def count(rgb, tol=10):
        return sum(1 for row in rows for x in range(0, w * chans, chans)
                   if all(abs(row[x + k] - rgb[k]) <= tol for k in range(3)))
    lane, syn, data_blue, ack_grey = (0x5b, 0x6b, 0x86), (0x2e, 0x9d, 0x4a), (0x2f, 0x6f, 0xd6), \
        (0x8a, 0x93, 0xa3)
    bar = (0x1d, 0x23, 0x30)
    assert count(lane) + count(bar) > 2 * 400, "the two lanes (and the calls on them) are not drawn"
    assert count(syn) > 200, "no green SYN arrows"
    assert count(data_blue) > 300, "no blue data arrows"
    assert count(ack_grey) > 100, "no grey ACK arrows"


# Appended to a copy of a page: after the page has drawn itself, every label's box
# as the browser laid it out, and how wide the page is, into a <pre> that
# --dump-dom shows. The page's own code never reports on itself.
MEASURE = r"""<script>
(function () {
  var boxes = [];
  document.querySelectorAll("svg text").forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.width > 0 && r.height > 0)
      boxes.push([t.textContent, r.left, r.top, r.right, r.bottom]);
  });
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify({ boxes: boxes, inner: window.innerWidth,
                                     scroll: document.documentElement.scrollWidth });
  document.body.appendChild(pre);
})();
</script>"""


def measured_labels(tmp_path, page_path, width):
    """(label boxes, window width, page width) of PAGE_PATH drawn in WIDTH px of Chromium."""
    probe = tmp_path / ("measured-" + page_path.name)
    probe.write_text(page_path.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                     encoding="utf-8")
    dom = chromium(tmp_path, probe.as_uri(), "--dump-dom", size=(width, 900))
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout, re.S)
    assert m, "the page did not draw: " + dom.stdout[-2000:]
    got = json.loads(html.unescape(m.group(1)))
    return got["boxes"], got["inner"], got["scroll"]


def overlapping(boxes, slack=0.5):
    """Pairs of labels whose boxes overlap by more than SLACK px each way."""
    found = []
    boxes = sorted(boxes, key=lambda b: b[2])
    for k, a in enumerate(boxes):
        for b in boxes[k + 1:]:
            if b[2] >= a[4] - slack:
                break
            if min(a[3], b[3]) - max(a[1], b[1]) > slack and min(a[4], b[4]) - max(a[2], b[2]) > slack:
                found.append((a[0], b[0]))
    return found


@pytest.fixture(scope="module")
def netem_drop(tmp_path_factory):
    """Lesson 06 through the router, delayed and with a drop: slanted arrows, a
    retransmission, idle gaps, the closing states: the most crowded page."""
    need_capture()
    need(shutil.which("ip"), "ip is not installed (apt-get install iproute2)")
    need(shutil.which("nft"), "nft is not installed (apt-get install nftables)")
    out = tmp_path_factory.mktemp("timeline") / "netem.html"
    r, data = timeline(out, "--lesson", "06", "-n", "3", "-i", "0", "--netem", "delay 20ms",
                       "--drop", "2", "--lang", "en,zh")
    assert r.returncode == 0, r.stderr
    return out, data


@pytest.mark.slow
@pytest.mark.parametrize("which", ["loopback", "netem-drop", "netem-drop-zh"])
def test_at_1000_px_no_label_sits_on_another_and_nothing_is_cut(request, tmp_path, which):
    out, data = request.getfixturevalue("lesson06" if which == "loopback" else "netem_drop")
    if which.endswith("-zh"):
        out = out.with_name(out.stem + ".zh.html")
    boxes, inner, scroll = measured_labels(tmp_path, out, 1000)
    texts = [b[0] for b in boxes]
    assert len(boxes) > 40 and any("TIME_WAIT" in t for t in texts), texts
    assert any(t.startswith("connect(3") for t in texts)
    assert scroll <= inner == 1000, f"the page is {scroll} px wide in a {inner} px window"
    cut = [b for b in boxes if b[1] < 0 or b[3] > inner]
    assert not cut, f"labels outside the window: {cut}"
    assert not overlapping(boxes), overlapping(boxes)
    # The screenshot itself: both lanes are drawn inside the 1000 px.
    shot = tmp_path / "shot.png"
    r = chromium(tmp_path, out.as_uri(), f"--screenshot={shot}", size=(1000, 1200))
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    w, h, chans, rows = png_pixels(shot.read_bytes())
    lane = (0x5b, 0x6b, 0x86)
    columns = {x for row in rows[400:] for x in range(w)
               if all(abs(row[x * chans + k] - lane[k]) <= 10 for k in range(3))}
    assert w == 1000 and any(x < 500 for x in columns) and any(x > 500 for x in columns), \
        "the two lanes are not both in the 1000 px screenshot"


# --- the pieces, without the network ---------------------------------------------------

def pcap_file(frames, nano=True):
    """A pcap file (Ethernet, like lo) of FRAMES: [(ts, frame bytes)]."""
    out = struct.pack("<IHHiIII", 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
    for ts, frame in frames:
        sec = int(ts)
        sub = round((ts - sec) * (1e9 if nano else 1e6))
        out += struct.pack("<IIII", sec, sub, len(frame), len(frame)) + frame
    return out


def tcp_frame(sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    return bytes(12) + b"\x08\x00" + ip + tcp + payload


def test_pcap_reader_gives_flags_sequence_numbers_and_lengths():
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    raw = pcap_file([(100.000000001, tcp_frame(40000, 5005, 1000, 0, SYN)),
                     (100.5, tcp_frame(5005, 40000, 7000, 1001, SYN | ACK)),
                     (101.25, tcp_frame(40000, 5005, 1001, 7001, PSH | ACK, b"hello")),
                     (102.0, tcp_frame(40000, 5005, 1006, 7001, FIN | ACK))])
    got = pcap.parse_pcap(raw)
    assert [p["flags"] for p in got] == [["SYN"], ["SYN", "ACK"], ["PSH", "ACK"], ["FIN", "ACK"]]
    assert [p["len"] for p in got] == [0, 0, 5, 0]
    assert got[0]["ts_text"] == "100.000000001" and got[2]["payload"] == "hello"
    assert (got[1]["sport"], got[1]["seq"], got[1]["ack"]) == (5005, 7000, 1001)
    assert len(pcap.parse_pcap(pcap_file([(1.5, tcp_frame(1, 2, 3, 4, ACK))], nano=False))) == 1
    with pytest.raises(pcap.PcapError):
        pcap.parse_pcap(b"\x0a\x0d\x0d\x0a" + bytes(40))     # pcapng


def test_model_marks_the_resent_bytes_as_a_retransmission():
    SYN, ACK, PSH = 0x02, 0x10, 0x08
    frames = [(1.0, tcp_frame(40000, 5005, 1000, 0, SYN)),
              (1.1, tcp_frame(5005, 40000, 7000, 1001, SYN | ACK)),
              (1.2, tcp_frame(40000, 5005, 1001, 7001, PSH | ACK, b"x" * 40)),
              (1.5, tcp_frame(40000, 5005, 1001, 7001, PSH | ACK, b"x" * 40)),
              (1.6, tcp_frame(5005, 40000, 7001, 1041, ACK))]
    items = model.packet_items(5005, {"lo": pcap.parse_pcap(pcap_file(frames))})
    assert [i["label"] for i in items] == ["SYN", "SYN-ACK", "data 40", "data 40", "ACK"]
    assert [i["retransmission"] for i in items] == [False, False, False, True, False]
    assert [i["rel_seq"] for i in items] == [0, 0, 1, 1, 1]
    assert items[-1]["rel_ack"] == 41


def test_socket_watch_sees_time_wait_and_leaves_older_sockets_out(tmp_path):
    """sockwatch.py (sock_diag, no root needed): the closing side's FIN_WAIT2 and
    TIME_WAIT with its 60 s timer, the other side's end; a connection that was
    there before the watch began is not reported."""
    import socket
    import time
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(2)
    port = ls.getsockname()[1]
    before = socket.create_connection(("127.0.0.1", port))
    before_srv, _ = ls.accept()
    old = "127.0.0.1:%d" % before.getsockname()[1]
    out = tmp_path / "states"
    w = capture.Watch(port, out)
    w.start()
    try:
        c = socket.create_connection(("127.0.0.1", port))
        a, _ = ls.accept()
        mine = "127.0.0.1:%d" % c.getsockname()[1]
        c.close()                       # the client closes first...
        time.sleep(0.1)
        a.close()                       # ...then the server: the client ends in TIME_WAIT
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                s["state"] == "TIME_WAIT" for s in w.states()):
            time.sleep(0.02)
    finally:
        w.stop()
        for sock in (before, before_srv, ls):
            sock.close()
    seen = w.states()
    assert all(s["ts"] >= s["prev"] for s in seen)
    client = [s["state"] for s in seen if s["local"] == mine]
    assert "FIN_WAIT2" in client and client[-1] == "TIME_WAIT", seen
    tw, = [s for s in seen if s["local"] == mine and s["state"] == "TIME_WAIT"]
    assert 50000 < tw["expires_ms"] <= 60000
    assert not any(old in (s["local"], s["remote"]) for s in seen), seen
    assert not any(s["state"] == "LISTEN" for s in seen), "the listening socket was there before"


def test_model_draws_closing_states_at_the_packet_that_made_them():
    """A watched state is drawn at the last packet of its side before it was seen
    (the ACK that answered the peer's FIN), with TIME_WAIT's full 60 s; states the
    trace shows itself (ESTABLISHED) are not drawn twice."""
    SYN, ACK, FIN = 0x02, 0x10, 0x01
    frames = [(10.0, tcp_frame(40000, 5005, 1000, 0, SYN)),
              (10.001, tcp_frame(5005, 40000, 7000, 1001, SYN | ACK)),
              (10.002, tcp_frame(40000, 5005, 1001, 7001, ACK)),
              (10.100, tcp_frame(40000, 5005, 1001, 7001, FIN | ACK)),
              (10.101, tcp_frame(5005, 40000, 7001, 1002, FIN | ACK)),
              (10.102, tcp_frame(40000, 5005, 1002, 7002, ACK))]
    cli, srv = "127.0.0.1:40000", "127.0.0.1:5005"
    watched = [{"ts": 10.05, "prev": 10.0, "local": cli, "remote": srv, "state": "ESTABLISHED",
                "expires_ms": 0},
               {"ts": 10.2, "prev": 10.098, "local": cli, "remote": srv, "state": "TIME_WAIT",
                "expires_ms": 59900},
               {"ts": 10.2, "prev": 10.098, "local": srv, "remote": cli, "state": "GONE",
                "expires_ms": 0}]
    client_events = [{"ts": 10.0021, "start": 9.999, "call": "connect", "text": "connect(3)",
                      "ret": 0, "fd": 3, "state": "ESTABLISHED"},
                     {"ts": 10.1005, "start": 10.099, "call": "close", "text": "close(3)", "ret": 0}]
    data = model.build([], client_events, {"lo": pcap.parse_pcap(pcap_file(frames))}, 5005,
                       {"title": "t", "notes": []}, watched)
    states = [i for i in data["items"] if i["kind"] == "state"]
    assert [(i["lane"], i["to"]) for i in states] == [("client", "ESTABLISHED"), ("client", "TIME_WAIT")]
    tw = states[1]
    assert tw["watched"] and abs(tw["t"] - (10.102 - 9.999)) < 1e-6      # the last ACK
    assert abs(tw["t_seen"] - (10.2 - 9.999)) < 1e-6
    assert abs(tw["lasts"] - (0.098 + 59.9)) < 1e-3
    connect, = [i for i in data["items"] if i["kind"] == "call" and i["call"] == "connect"]
    assert connect["t_start"] == 0 and abs(connect["t_end"] - 0.0031) < 1e-6


def test_netem_and_drop_runs_get_pages_of_their_own():
    loader = importlib.machinery.SourceFileLoader("timeline_cli", str(TIMELINE))
    cli = types.ModuleType(loader.name)
    cli.__file__ = str(TIMELINE)
    loader.exec_module(cli)
    assert cli.page_name("06-close", None, 0) == "06-close.html"
    assert cli.page_name("06-close", "delay 50ms loss 10%", 0) == \
        "06-close-netem-delay50ms-loss10pct.html"
    assert cli.page_name("06-close", None, 2) == "06-close-drop2.html"
    assert cli.page_name("05-send-recv", "delay 20ms 5ms", 3) == \
        "05-send-recv-netem-delay20ms5ms-drop3.html"


def test_one_run_in_both_languages_writes_two_pages(tmp_path):
    r, data = timeline(tmp_path / "p.html", "--lesson", "06", "-n", "1", "-i", "0",
                       "--lang", "en,zh", env={"LAB_TIMELINE_NO_CAPTURE": "test"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / "p.html"), str(tmp_path / "p.zh.html")]
    zh_text = (tmp_path / "p.zh.html").read_text(encoding="utf-8")
    zh = page.read_data(zh_text)
    assert data["lang"] == "en" and zh["lang"] == "zh"
    assert data["items"] == zh["items"], "one run, drawn twice"
    assert '<html lang="zh-CN">' in zh_text and "第 06 课" in zh["title"]
    assert zh["words"]["server"] == "服务器" and zh["words"]["client"] == "客户端"
    assert zh["notes"][0].startswith("没有报文：") and data["notes"][0].startswith("No packets:")
    # The trace's step labels in Chinese come from the programs' own catalog.
    assert zh["words"]["steps"]["server"]["accept client"] == "受理客户端的连接"
    for words in ("缩放", "空闲", "等待", "数据"):
        assert words in zh_text
    r, _ = timeline(tmp_path / "x.html", "--lang", "fr")
    assert r.returncode == 2 and "--lang" in r.stderr


def test_embedded_json_cannot_close_its_script_element():
    data = model.build([{"ts": 1.0, "call": "send", "text": 'send(3, "</script><b>", 11)',
                         "ret": 11}], [], None, 0, {"title": "t", "notes": []})
    text = page.render(data)
    assert text.count("</script>") == 2
    assert page.read_data(text)["items"][0]["text"] == 'send(3, "</script><b>", 11)'


# --- the command line ------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--lesson", "99"], "no lesson '99'"),
    (["--", "true"], "give two commands"),
    (["--lesson", "06", "--", "a", "--", "b"], "not both"),
    (["--bogus"], "usage"),
])
def test_usage_errors_exit_2_with_a_message(tmp_path, args, words):
    r, _ = timeline(tmp_path / "x.html", *args)
    assert r.returncode == 2
    assert words in r.stderr


def test_make_timeline_accepts_a_lesson_number_and_prints_the_path(tmp_path):
    r = subprocess.run(["make", "-s", "timeline", "LESSON=05", "COUNT=2", "INTERVAL=0"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LAB_TIMELINE_NO_CAPTURE="test"))
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path == ROOT / "build" / "timeline" / "05-send-recv.html"
    data = page.read_data(path.read_text(encoding="utf-8"))
    assert data["client_argv"][:2] == ["build/05-send-recv/client", "--json"]


# --- the docs embed each lesson's run ------------------------------------------------

def test_lesson_pages_embed_the_timeline_beside_the_diagram(tmp_path):
    runs = tmp_path / "timeline"
    runs.mkdir()
    (runs / "timeline_06-close.html").write_text("<!DOCTYPE html><p>run</p>")
    r = subprocess.run([PY, str(ROOT / "docs" / "lesson-pages.py"), "--out", str(tmp_path / "pages"),
                        "--timelines", str(runs)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    page06 = (tmp_path / "pages" / "lesson_06.md").read_text(encoding="utf-8")
    diagram = page06.index("\\msc")
    section = page06.index("## The real run, on one clock")
    assert diagram < section
    assert '<iframe src="timeline_06-close.html"' in page06[section:]
    assert "\\endhtmlonly" in page06[section:]
    # A lesson without a run keeps its page as it was.
    assert "The real run" not in (tmp_path / "pages" / "lesson_05.md").read_text(encoding="utf-8")
    # The Chinese site shows the run's Chinese drawing (tools/timeline --lang en,zh).
    (runs / "timeline_06-close.zh.html").write_text("<!DOCTYPE html><p>运行</p>")
    r = subprocess.run([PY, str(ROOT / "docs" / "lesson-pages.py"), "--lang", "zh",
                        "--out", str(tmp_path / "pages-zh"), "--timelines", str(runs)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    zh06 = (tmp_path / "pages-zh" / "lesson_06.md").read_text(encoding="utf-8")
    assert '<iframe src="timeline_06-close.zh.html"' in zh06


def test_a_delay_stretches_every_arrow_by_at_least_the_delay(tmp_path):
    """NETEM "delay 20ms": tc netem where the kernel has it, else tools/timeline's
    user-space relay. Either way no packet may arrive sooner than 20 ms after it
    left (a lower bound: the test does not depend on how busy the machine is)."""
    need_capture()
    need(shutil.which("ip"), "ip is not installed (apt-get install iproute2)")
    need(shutil.which("nft"), "nft is not installed (apt-get install nftables)")
    r, data = timeline(tmp_path / "delay.html", "--lesson", "06", "-n", "2", "-i", "0",
                       "--netem", "delay 20ms")
    assert r.returncode == 0, r.stderr
    assert data["netem"] == "delay 20ms"
    arrows = packets(data)
    assert len(arrows) >= 10 and not any(p["lost"] for p in arrows)
    assert all(p["t_arrive"] - p["t"] >= 0.0199 for p in arrows), \
        [(p["label"], p["t_arrive"] - p["t"]) for p in arrows]
    # The handshake alone now takes a round trip: connect() returns 40 ms after its SYN.
    syn, = packets(data, "SYN", "client")
    connect, = calls(data, "client", "connect")
    assert connect["t"] - syn["t"] >= 0.0399
    assert connect["t_end"] - connect["t_start"] >= 0.0399, "connect waits for the round trip"
    assert not causality_faults(data)
    # After the client exits, its socket goes on: FIN_WAIT2, then TIME_WAIT once the
    # server's FIN has crossed the delay.
    tw = [i for i in data["items"] if i["kind"] == "state" and i["to"] == "TIME_WAIT"]
    assert [i["lane"] for i in tw] == ["client"]
    s_fin, = packets(data, "FIN", "server")
    assert tw[0]["t"] >= s_fin["t_arrive"]


def test_two_small_replies_in_a_row_wait_for_the_clients_ack(tmp_path):
    """PEER=pieces: each request of two 1023-byte pieces gets two "ok"s written one after
    the other. Nagle holds the second until the client acknowledges the first, so on the
    wire it follows the client's ACK, while the server's send() returned long before."""
    need_capture()
    r, data = timeline(tmp_path / "pieces.html", "--lesson", "05", "--peer", "pieces",
                       "-n", "8")
    assert r.returncode == 0, r.stderr
    assert "received 16 replies" in data["client_stdout"]
    seq = [(p["from"], p["label"], p["t"]) for p in packets(data)]
    held = 0
    sends = [c["t"] for c in calls(data, "server", "send")]
    for k in range(len(seq) - 2):
        a, b, c = seq[k:k + 3]
        if (a[:2], b[:2], c[:2]) == (("server", "data 2"), ("client", "ACK"),
                                     ("server", "data 2")):
            # Held back: the call that wrote this "ok" had returned before the ACK came.
            # (At first the client's kernel ACKs at once, "quick ACK": not held then.)
            if any(a[2] < t < b[2] for t in sends):
                held += 1
    assert held >= 4, seq
