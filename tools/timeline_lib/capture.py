"""capture.py - tcpdump started and stopped cleanly; namespaces for NETEM runs.

A capture is tcpdump writing a pcap file with nanosecond CLOCK_REALTIME
stamps (the clock of the trace's "ts"), one packet at a time (-U), for one
TCP port. It is ready once it says "listening on" (stderr); it stops on
SIGINT, after writing what it has, and says "N packets captured".
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

READY_WAIT = 10.0
SNAPLEN = 256           # bytes kept of each packet: Ethernet, IP and TCP headers, 100+ of data
BUFFER_KIB = 32768      # tcpdump's kernel buffer
STOP_WAIT = 10.0
# Why a capture is impossible, forced (tests, or a user who wants no capture).
NO_CAPTURE_ENV = "LAB_TIMELINE_NO_CAPTURE"


class CaptureError(Exception):
    """The capture could not start; str() says why, for the page."""


def wait_for(cond, deadline, what):
    """Poll COND until it is true; raise TimeoutError naming WHAT at DEADLINE."""
    end = time.monotonic() + deadline
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(0.01)


def stop_process(proc, sig):
    """Send sig to a running process and wait for it; kill it after STOP_WAIT seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def netns_prefix(ns):
    return ["ip", "netns", "exec", ns] if ns else []


class Capture:
    """tcpdump on IFACE (in namespace NS) for TCP PORT, into PCAP."""

    def __init__(self, iface, port, pcap, ns=None):
        self.iface, self.port, self.pcap, self.ns = iface, port, str(pcap), ns
        self.log = self.pcap + ".log"
        self.proc = None

    def start(self):
        forced = os.environ.get(NO_CAPTURE_ENV)
        if forced:
            raise CaptureError(f"capture turned off ({NO_CAPTURE_ENV}={forced})")
        tcpdump = shutil.which("tcpdump") or next(
            (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if os.path.exists(p)), None)
        if not tcpdump:
            raise CaptureError("tcpdump is not installed (apt-get install tcpdump)")
        # --immediate-mode: without it libpcap hands packets over in blocks
        # up to a second old, and on SIGINT the last block is lost (the
        # "received by filter" packets that were never "captured").
        # -s SNAPLEN: the headers and the start of the payload are enough
        # (lengths come from the IP header), and small frames with a big
        # buffer (-B, KiB) keep a busy machine from dropping packets.
        # -Z root: Debian's tcpdump would otherwise switch to user tcpdump,
        # who may not write the output directory. -n: no name lookups.
        argv = netns_prefix(self.ns) + [
            tcpdump, "-i", self.iface, "-w", self.pcap, "-U", "--immediate-mode", "-n",
            "-s", str(SNAPLEN), "-B", str(BUFFER_KIB), "--time-stamp-precision=nano"]
        if os.geteuid() == 0:
            argv += ["-Z", "root"]
        argv += ["tcp port %d" % self.port]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        try:
            wait_for(lambda: self._said("listening on") or self.proc.poll() is not None,
                     READY_WAIT, "tcpdump to start")
        except TimeoutError as e:
            self.stop()
            raise CaptureError(str(e))
        if self.proc.poll() is not None:
            said = [l.strip() for l in self._text().splitlines()
                    if l.strip() and "listening on" not in l]
            raise CaptureError("tcpdump could not capture on %s: %s" % (
                self.iface, " ".join(said) or "(no message)"))

    def _text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _said(self, words):
        return words in self._text()

    def dropped(self):
        """How many packets the kernel dropped (tcpdump says so when it stops)."""
        m = re.search(r"(\d+) packets? dropped by kernel", self._text())
        return int(m.group(1)) if m else 0

    def stop(self):
        """SIGINT, then wait until tcpdump has written everything and exited."""
        if not self.proc:
            return
        stop_process(self.proc, signal.SIGINT)
        self.proc = None


class Watch:
    """sockwatch.py in namespace NS for TCP PORT: the states of the pair's
    sockets, the closing ones above all, until stop(). Its lines go to OUT."""

    def __init__(self, port, out, ns=None):
        self.port, self.out, self.ns = port, str(out), ns
        self.proc = None

    def start(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sockwatch.py")
        argv = netns_prefix(self.ns) + [sys.executable, script, str(self.port)]
        with open(self.out, "wb") as out, open(self.out + ".log", "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                                         start_new_session=True)
        try:
            wait_for(lambda: self._text().startswith("ready") or self.proc.poll() is not None,
                     READY_WAIT, "the socket watch to start")
        except TimeoutError as e:
            self.stop()
            raise CaptureError(str(e))
        if self.proc.poll() is not None:
            with open(self.out + ".log", "rb") as f:
                why = f.read().decode("utf-8", "replace").strip()
            self.proc = None
            raise CaptureError(why or "sockwatch.py exited")

    def _text(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            stop_process(self.proc, signal.SIGTERM)
        self.proc = None

    def states(self):
        """What it saw: one dict per change (see sockwatch.py)."""
        seen = []
        for line in self._text().splitlines()[1:]:
            try:
                seen.append(json.loads(line))
            except ValueError:
                pass
        return seen


def run(argv, **kw):
    """Run a setup command; raise RuntimeError with its message if it fails."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
    return r.stdout


def parse_netem(spec, why):
    """(delay s, jitter s, loss fraction) of a netem SPEC the relay can do:
    "delay 50ms [10ms]" and "loss 10%", in any order; else RuntimeError."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "": 1e-3}
    time_re = r"(\d+(?:\.\d+)?)(us|ms|s)?"
    delay = jitter = loss = 0.0
    words = spec.split()
    i = 0
    try:
        while i < len(words):
            if words[i] == "delay":
                m = re.fullmatch(time_re, words[i + 1])
                delay = float(m.group(1)) * units[m.group(2) or ""]
                i += 2
                m = re.fullmatch(time_re, words[i]) if i < len(words) else None
                if m:
                    jitter = float(m.group(1)) * units[m.group(2) or ""]
                    i += 1
            elif words[i] == "loss":
                m = re.fullmatch(r"(\d+(?:\.\d+)?)%", words[i + 1])
                loss = float(m.group(1)) / 100
                i += 2
            else:
                raise ValueError(words[i])
    except (ValueError, IndexError, AttributeError):
        raise RuntimeError("this kernel has no netem (tc says: %s); without it timeline "
                           "emulates \"delay TIME [JITTER]\" and \"loss P%%\" only, not %r"
                           % (why, spec))
    return delay, jitter, loss


class Network:
    """Three namespaces: client -- router -- server, joined by two veth pairs,
    with `tc netem NETEM` on both of the router's interfaces (so each direction
    gets it once: "delay 50ms" makes a 100 ms round trip).

    The addresses are a private 10.200.0.0/29 that exists only inside these
    namespaces; nothing leaves the machine. DROP_NTH (n >= 1) drops, once, the
    n-th client packet that carries data, with an nftables counter
    (`numgen inc`): a loss a test can rely on, unlike netem's random one.
    The capture points are the client's and the server's own interfaces, so a
    packet's arrow runs from when it left to when it arrived."""

    CLIENT_ADDR, ROUTER_C, ROUTER_S, SERVER_ADDR = "10.200.0.2", "10.200.0.1", "10.200.0.5", "10.200.0.6"

    def __init__(self, netem, drop_nth=0):
        tag = "tl%d%03d" % (os.getpid() % 100000, int(time.time() * 1000) % 1000)
        self.client, self.router, self.server = tag + "c", tag + "r", tag + "s"
        self.netem, self.drop_nth = netem, drop_nth
        self.made = []
        self.emulated = ""
        self.relay = None

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()

    def setup(self):
        if not shutil.which("ip") or not shutil.which("tc"):
            raise RuntimeError("NETEM needs ip and tc (apt-get install iproute2)")
        for ns in (self.client, self.router, self.server):
            run(["ip", "netns", "add", ns])
            self.made.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        # The interface names are per namespace, so fixed names cannot clash.
        run(["ip", "link", "add", "vc", "netns", self.client, "type", "veth",
             "peer", "name", "rc", "netns", self.router])
        run(["ip", "link", "add", "vs", "netns", self.server, "type", "veth",
             "peer", "name", "rs", "netns", self.router])
        for ns, dev, addr in ((self.client, "vc", self.CLIENT_ADDR),
                              (self.router, "rc", self.ROUTER_C),
                              (self.router, "rs", self.ROUTER_S),
                              (self.server, "vs", self.SERVER_ADDR)):
            run(["ip", "-n", ns, "addr", "add", addr + "/30", "dev", dev])
            run(["ip", "-n", ns, "link", "set", dev, "up"])
            # Segmentation offloads would show one 64 KB "packet" where the wire
            # has many: off, so the capture shows the segments TCP really made.
            if shutil.which("ethtool"):
                subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off",
                                "gso", "off", "gro", "off"], capture_output=True)
        run(["ip", "-n", self.client, "route", "add", "default", "via", self.ROUTER_C])
        run(["ip", "-n", self.server, "route", "add", "default", "via", self.ROUTER_S])
        run(["ip", "netns", "exec", self.router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        rules = []
        if self.netem:
            rules += self.add_netem()
        if self.drop_nth and not self.relay:
            # The counter only advances for packets that matched everything
            # before it: client -> server TCP with a payload (more than the 52
            # bytes of IP and TCP headers with timestamps; no SYN or RST). It
            # starts at 0: the drop_nth-th such packet sees drop_nth - 1.
            rules.append("ip saddr %s ip daddr %s meta l4proto tcp "
                         "tcp flags & (syn | rst) == 0 ip length > 52 "
                         "numgen inc mod 1000000 == %d counter drop"
                         % (self.CLIENT_ADDR, self.SERVER_ADDR, self.drop_nth - 1))
        if rules:
            self.nft(rules)

    def add_netem(self):
        """tc netem on both router interfaces. A kernel without netem
        (CONFIG_NET_SCH_NETEM) can still lose packets: "loss P%" becomes an
        nftables random drop; a delay it cannot make, and says so."""
        unknown = None
        for dev in ("rc", "rs"):
            r = subprocess.run(["ip", "netns", "exec", self.router, "tc", "qdisc", "add", "dev",
                                dev, "root", "netem"] + self.netem.split(),
                               capture_output=True, text=True)
            if r.returncode != 0:
                if "unknown" not in r.stderr.lower():
                    raise RuntimeError("tc netem %s: %s" % (self.netem, r.stderr.strip()))
                unknown = r.stderr.strip()
        if not unknown:
            self.emulated = "tc"
            return []
        delay, jitter, loss = parse_netem(self.netem, unknown)
        if not delay:
            self.emulated = "nft"
            return ["meta l4proto tcp numgen random mod 1000000 < %d counter drop"
                    % int(loss * 1000000)]
        self.start_relay(delay, jitter, loss)
        return []

    def start_relay(self, delay, jitter, loss):
        """relay.py forwards between rc and rs in user space, with the delay;
        the router's kernel drops all IPv4 so nothing crosses twice."""
        def mac(ns, dev):
            out = run(["ip", "-n", ns, "-o", "link", "show", "dev", dev])
            return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)
        text = ("table ip timelinerelay {\n chain pre {\n"
                "  type filter hook prerouting priority -300; policy drop;\n }\n}\n")
        r = subprocess.run(["ip", "netns", "exec", self.router, "nft", "-f", "-"],
                           input=text, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("nft: " + r.stderr.strip())
        relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py")
        argv = ["ip", "netns", "exec", self.router, sys.executable, relay,
                "rc", mac(self.client, "vc"), self.CLIENT_ADDR,
                "rs", mac(self.server, "vs"), self.SERVER_ADDR,
                repr(delay), repr(jitter), repr(loss), str(self.drop_nth)]
        self.relay = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        ready, _, _ = select.select([self.relay.stdout], [], [], READY_WAIT)
        if not ready or self.relay.stdout.readline().strip() != b"ready":
            self.relay.kill()
            err = self.relay.stderr.read().decode(errors="replace").strip()
            self.relay.wait()
            self.relay = None
            raise RuntimeError("the user-space netem relay did not start: " + err[-500:])
        self.emulated = "relay"

    def nft(self, rules):
        if not shutil.which("nft"):
            raise RuntimeError("dropping packets needs nft (apt-get install nftables)")
        text = ("table ip timeline {\n chain forward {\n"
                "  type filter hook forward priority 0; policy accept;\n" +
                "".join("  %s\n" % r for r in rules) + " }\n}\n")
        r = subprocess.run(["ip", "netns", "exec", self.router, "nft", "-f", "-"],
                           input=text, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("nft: " + r.stderr.strip())

    def teardown(self):
        if self.relay:
            stop_process(self.relay, signal.SIGTERM)
            self.relay = None
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []
