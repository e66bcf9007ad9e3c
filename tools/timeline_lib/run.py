"""run.py - run a server and a client with JSON traces while capturing their port.

The order matters: the server first; its port (printed, or chosen by us for
a command with {port}); the capture on that port, ready; only then the
client, so the capture sees the handshake.
"""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import capture, model, pcap
from .words import note

LISTENING = re.compile(r"^(?:listening on|bound to) (\S+):(\d+)\s*$", re.M)
# The kit's preload tracer, for programs not built with the kit (tools/trace).
# One place to change when its name or variables change.
ROOT = Path(__file__).resolve().parent.parent.parent
PRELOAD_LIB = "libsocketlab.so"
PRELOAD_ENV = {"LAB_TRACE": "json"}
KEEP_ENV = "LAB_TIMELINE_KEEP"   # a directory to keep the run's files in
WAIT = 10.0          # seconds a server may take to listen
CLIENT_WAIT = 120.0  # seconds a client may run
SERVER_WAIT = 5.0    # seconds a server may take to finish once its client did


def preload_env(build_dir, lane):
    """(env, None) to trace any program through the preload library, or
    (None, reason) when it is not built."""
    lib = Path(build_dir) / PRELOAD_LIB
    if not lib.exists():
        return None, f"{lib} is not built"
    env = dict(PRELOAD_ENV)
    env["LD_PRELOAD"] = str(lib)
    env["LAB_TRACE_ROLE"] = lane       # the step labels of that role (tools/trace --role)
    return env, None


def preload_missing(build_dir, lanes):
    """The note that says why the calls of LANES ("server", "client", "both") are missing."""
    return note("preload_missing", lanes=note("lanes_" + lanes),
                lib=Path(build_dir) / PRELOAD_LIB)


def free_port():
    """A port nobody uses now, for a command that takes no port 0 (demo6)."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def listening(pid, port):
    """Program PID's network namespace has a TCP socket in LISTEN on PORT."""
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except (OSError, IndexError, ValueError):
            pass
    return False


class Program:
    def __init__(self, lane, argv, env, ns, workdir):
        self.lane, self.argv = lane, argv
        self.out = Path(workdir) / f"{lane}.out"
        self.err = Path(workdir) / f"{lane}.err"
        full_env = dict(os.environ)
        full_env["NO_COLOR"] = "1"
        full_env.update(env or {})
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(capture.netns_prefix(ns) + argv, stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=e, env=full_env,
                                         start_new_session=True)

    def stdout(self):
        return self.out.read_text(encoding="utf-8", errors="replace")

    def stderr(self):
        return self.err.read_text(encoding="utf-8", errors="replace")

    def finish(self, timeout):
        """Wait up to TIMEOUT s, then SIGINT, then SIGKILL: the exit status."""
        for sig in (None, signal.SIGINT, signal.SIGKILL):
            if sig is not None and self.proc.poll() is None:
                os.killpg(self.proc.pid, sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timeout = 2.0
        return self.proc.wait()


def substitute(argv, port, host):
    return [a.replace("{port}", str(port)).replace("{host}", host) for a in argv]


def run_pair(server_argv, client_argv, *, server_env=None, client_env=None,
             netem=None, drop_nth=0, settle=0.2, notes=None, server_wait=SERVER_WAIT):
    """Run the pair (CLIENT_ARGV None: the server alone); return the page data's pieces as a dict:
    server/client trace events and output, packets by capture point (None
    without capture), the port, exit codes, and notes (why something is missing)."""
    notes = list(notes or [])
    keep = os.environ.get(KEEP_ENV)
    if keep:
        os.makedirs(keep, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="timeline.", dir=keep or None) as work:
        if keep:
            # For debugging: the outputs, pcaps and tcpdump logs stay in KEEP.
            work = keep
        if netem is not None or drop_nth:
            with capture.Network(netem, drop_nth) as net:
                how = (note("namespaces_netem", netem=netem, emulated=note("emulated_" +
                                                                            net.emulated))
                       if netem else "")
                notes.append(note("namespaces", client=net.CLIENT_ADDR, server=net.SERVER_ADDR,
                                  how=how, drop=note("namespaces_drop", drop=drop_nth)
                                  if drop_nth else ""))
                return _run(server_argv, client_argv, server_env, client_env, net, work,
                            settle + 4 * _delay_seconds(netem), notes, server_wait)
        return _run(server_argv, client_argv, server_env, client_env, None, work, settle,
                    notes, server_wait)


def _delay_seconds(netem):
    m = re.search(r"delay\s+([\d.]+)(us|ms|s)?", netem or "")
    if not m:
        return 0.0
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, None: 1e-3}[m.group(2)]


def _run(server_argv, client_argv, server_env, client_env, net, work, settle, notes,
         server_wait):
    host = net.SERVER_ADDR if net else "127.0.0.1"
    port = free_port() if any("{port}" in a for a in server_argv) else None
    server = Program("server", substitute(server_argv, port or 0, host), server_env,
                     net.server if net else None, work)
    client, captures, watches = None, [], []
    if client_argv is None:
        status = server.finish(WAIT)
        events, other = model.parse_trace(server.stderr())
        return {"port": None, "host": host, "packets": None, "notes": notes, "client": None,
                "server": {"argv": server.argv, "status": status, "events": events,
                           "stdout": server.stdout(), "stderr_other": other}}
    try:
        try:
            if port:
                capture.wait_for(lambda: listening(server.proc.pid, port) or
                                 server.proc.poll() is not None, WAIT, "the server to listen")
            else:
                m = capture.wait_for(lambda: LISTENING.search(server.stdout()) or
                                     server.proc.poll() is not None, WAIT,
                                     "the server's 'listening on ADDR:PORT' line")
                if m is not True and hasattr(m, "group"):
                    port = int(m.group(2))
        except TimeoutError as e:
            raise RuntimeError(f"{e}; its stderr:\n{server.stderr()[-2000:]}")
        if server.proc.poll() is not None:
            raise RuntimeError("the server exited (status %s) before listening; its stderr:\n%s"
                               % (server.proc.returncode, server.stderr()[-2000:]))
        points = ([("client", "vc", net.client), ("server", "vs", net.server)] if net
                  else [("lo", "lo", None)])
        try:
            for name, iface, ns in points:
                c = capture.Capture(iface, port, Path(work) / f"{name}.pcap", ns)
                c.start()
                captures.append((name, c))
        except capture.CaptureError as e:
            for _, c in captures:
                c.stop()
            captures = []
            notes.append(note("no_packets", why=str(e)))
        try:
            for name, _, ns in points:
                w = capture.Watch(port, Path(work) / f"{name}.states", ns)
                w.start()
                watches.append(w)
        except capture.CaptureError as e:
            for w in watches:
                w.stop()
            watches = []
            notes.append(note("no_watch", why=str(e)))
        client = Program("client", substitute(client_argv, port, host), client_env,
                         net.client if net else None, work)
        client_status = client.finish(CLIENT_WAIT)
        server_status = server.finish(server_wait)
        packets, watched = None, []
        if captures or watches:
            # Both programs are done, but the last ACKs may still be on their
            # way (netem delays them), and the sockets go on without them
            # (FIN_WAIT2, LAST_ACK, TIME_WAIT): watch SETTLE seconds more. Not
            # a synchronisation: a late ACK only misses the picture.
            time.sleep(settle)
        for w in watches:
            w.stop()
            watched += w.states()
        if captures:
            packets = {}
            for name, c in captures:
                c.stop()
                if c.dropped():
                    notes.append(note("capture_dropped", name=name, n=c.dropped()))
                try:
                    packets[name] = pcap.read_pcap(c.pcap)
                except (OSError, pcap.PcapError) as e:
                    notes.append(note("capture_unreadable", name=name, why=str(e)))
                    packets[name] = []
        s_events, s_other = model.parse_trace(server.stderr())
        c_events, c_other = model.parse_trace(client.stderr())
        return {"port": port, "host": host, "packets": packets, "notes": notes,
                "watched": watched,
                "server": {"argv": server.argv, "status": server_status, "events": s_events,
                           "stdout": server.stdout(), "stderr_other": s_other},
                "client": {"argv": client.argv, "status": client_status, "events": c_events,
                           "stdout": client.stdout(), "stderr_other": c_other}}
    finally:
        for _, c in captures:
            c.stop()
        for w in watches:
            w.stop()
        for p in (client, server):
            if p and p.proc.poll() is None:
                p.finish(0.1)
