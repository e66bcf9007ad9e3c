#!/usr/bin/env python3
"""lesson-output.py - regenerate the real program output quoted in the lessons.

Each lessons/NN-name/README.md may hold blocks of this form:

    <!-- output: SCENARIO -->
    ```text
    ...
    ```
    <!-- end output -->

This script runs each SCENARIO (the built programs, on loopback, port 0,
NO_COLOR=1, each on its own pseudo-terminal so stdout and stderr interleave
as a student sees them) and writes what they printed into the block.

Usage: tools/lesson-output.py [--check] [--build DIR] [--scenario NAME] [README ...]
  (no option)  rewrite the blocks whose output changed (beyond the numbers
               below), in place
  --scenario   print one scenario's output, change nothing
  --check      change nothing; exit 1 if a block is stale. Ports, socket
               inode numbers and pids change on every run, so numbers of
               4 or more digits and pid=N are ignored in the comparison.
Python 3 standard library only. `make lesson-output` runs it.
"""
import argparse
import difflib
import errno
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"(<!-- output: (?P<name>[\w.-]+) -->\n```text\n)(?P<body>.*?)(```\n<!-- end output -->)",
    re.S)
TIMEOUT = 10.0          # seconds any one wait may take before we give up
BUILD = ROOT / "build"  # set from --build / LAB_BUILD in main()


class ScenarioError(Exception):
    pass


class Proc:
    """One program whose stdout and stderr go to one pseudo-terminal, so its
    output reads exactly as it does in a student's terminal: line-buffered
    stdout, interleaved with the trace in the order it happened."""

    def __init__(self, argv, shown, extra_env=None):
        env = dict(os.environ, NO_COLOR="1")
        env.pop("LAB_LANG", None)
        env.pop("LAB_FAULT", None)
        env.pop("LD_PRELOAD", None)
        env.update(extra_env or {})
        self.shown = shown                  # the command line as the README shows it
        self.master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST          # "\n" stays "\n", not "\r\n"
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        try:
            self.p = subprocess.Popen(argv, stdout=slave, stderr=slave,
                                      stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        finally:
            os.close(slave)
        self.out = b""

    def _read_some(self, deadline):
        """Read what is there; False at the end of the output."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise ScenarioError(f"timed out running {self.shown}; output so far:\n{self.text()}")
        ready, _, _ = select.select([self.master], [], [], left)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError as e:                # EIO: the program has closed the terminal
            if e.errno != errno.EIO:
                raise
            chunk = b""
        self.out += chunk
        return bool(chunk)

    def wait_for(self, pattern):
        """Read output until @pattern (a regex) matches; return the match."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = re.search(pattern, self.text(), re.M)
            if m:
                return m
            if not self._read_some(deadline):
                raise ScenarioError(f"{self.shown} ended without printing /{pattern}/:\n{self.text()}")

    def finish(self):
        """Read to the end and wait for exit; return the transcript."""
        deadline = time.monotonic() + TIMEOUT
        while self._read_some(deadline):
            pass
        self.p.wait(timeout=TIMEOUT)
        return self.transcript()

    def transcript(self):
        code = self.p.returncode
        return f"$ {self.shown}\n{self.text()}" + (f"(exit status {code})\n" if code else "")

    def text(self):
        return self.out.decode("utf-8", "replace")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if self.master != -1:
            os.close(self.master)
            self.master = -1


class Scenario:
    """Runs programs, remembers them, kills leftovers."""

    def __init__(self):
        self.procs = []

    def start(self, lesson, prog, *args, env=None):
        """Start build/LESSON/PROG ARGS; @env adds variables (shown before the
        command, as a shell would take them: LAB_FAULT=... build/...)."""
        shown = " ".join([*(f"{k}={v}" for k, v in (env or {}).items()),
                          f"build/{lesson}/{prog}", *args])
        p = Proc([str(BUILD / lesson / prog), *args], shown, env)
        self.procs.append(p)
        return p

    def server(self, lesson, *args, port="0", env=None):
        """Start a lesson's server and return (proc, port it listens on)."""
        p = self.start(lesson, "server", *args, port, env=env)
        m = p.wait_for(r"^(?:listening on|bound to) .*:(\d+)$")
        return p, m.group(1)

    def close(self):
        for p in self.procs:
            p.kill()


def connect_until_exit(port, proc):
    """Connect like `nc 127.0.0.1 PORT`, send nothing, and stay connected
    until @proc (a server that exits on its own) has exited."""
    with socket.socket() as c:
        c.settimeout(TIMEOUT)
        try:
            c.connect(("127.0.0.1", int(port)))
        except ConnectionResetError:
            pass    # the server saw us, exited and reset us before connect() returned
        proc.p.wait(timeout=TIMEOUT)


def free_port():
    """A port nothing listens on: bind port 0, note it, let it go."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


# --- the scenarios: each returns the block's text ------------------------
# A function s_NN_some_name(sc) is the scenario "NN-some-name". To add one,
# write such a function; sc.start()/sc.server() run the built programs.

def s_01_server(sc):
    return sc.start("01-socket", "server", "0").finish()


def s_02_server(sc):
    p = sc.start("02-bind", "server", "0")
    return p.finish()


def s_02_port_in_use(sc):
    holder, port = sc.server("03-listen", "-q")
    p = sc.start("02-bind", "server", port)
    out = p.finish()
    connect_until_exit(port, holder)    # let lesson 03's server finish
    return (f"# terminal 1: lesson 03's server holds a port\n"
            f"{holder.finish()}"
            f"# terminal 2: bind the same port\n{out}")


def s_02_bad_port(sc):
    return "".join(sc.start("02-bind", "server", arg).finish() for arg in ("abc", "70000"))


def s_03_listen_with_client(sc):
    server, port = sc.server("03-listen")
    connect_until_exit(port, server)
    server.finish()
    return (server.transcript()
            + f"# meanwhile, terminal 2 connected (like nc 127.0.0.1 {port}) and never called send()\n")


def s_03_ss_listen(sc):
    server, port = sc.server("03-listen", "-q")
    ss = subprocess.run(["ss", "-tlnp", f"sport = :{port}"], capture_output=True,
                        text=True, timeout=TIMEOUT, check=True)
    connect_until_exit(port, server)
    return f"$ ss -tlnp 'sport = :{port}'\n{ss.stdout}"


def exchange(sc, lesson, count="3", quiet_client=False, env=None):
    """Server and client of @lesson; returns (server, client). The server is
    paused (SIGSTOP) until the client's first message is sent, so its view
    after accept() is the same on every run: 40 bytes already waiting."""
    server, port = sc.server(lesson, env=env)
    server.p.send_signal(signal.SIGSTOP)
    try:
        if lesson == "04-accept":       # connects, sends nothing, exits
            client = sc.start(lesson, "client", "127.0.0.1", port)
            client.finish()
        else:
            opts = ["-q"] if quiet_client else []
            client = sc.start(lesson, "client", *opts, "-n", count, "-i", "0", "127.0.0.1", port,
                              env=env)
            client.wait_for(r"^(?:sent: |发送：)")
    finally:
        server.p.send_signal(signal.SIGCONT)
    client.finish()
    server.finish()
    return server, client


def both(server, client):
    return f"# terminal 1\n{server.transcript()}# terminal 2\n{client.transcript()}"


def s_04_accept(sc):
    return both(*exchange(sc, "04-accept"))


def s_04_refused(sc):
    return sc.start("04-accept", "client", "127.0.0.1", free_port()).finish()


def s_05_exchange(sc):
    return both(*exchange(sc, "05-send-recv"))


def s_05_chinese(sc):
    return both(*exchange(sc, "05-send-recv", count="2", quiet_client=True, env={"LAB_LANG": "zh"}))


def s_05_two_sends_one_recv(sc):
    server, port = sc.server("05-send-recv")
    server.p.send_signal(signal.SIGSTOP)
    try:
        c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        c.sendall("这是第1个超级女生，编号001。".encode())
        c.sendall("这是第2个超级女生，编号002。".encode())
    finally:
        server.p.send_signal(signal.SIGCONT)
    with c:
        server.wait_for(r"^sent: ok$")
        c.shutdown(socket.SHUT_WR)
        reply = read_until_closed(c)
    server.finish()
    return (f"# terminal 1\n{server.transcript()}"
            f"# terminal 2: a Python client sent two messages with two send() calls, then\n"
            f"# shut down its sending side and read until the server closed.\n"
            f"# All it got back: {reply!r}\n")


def s_06_exchange(sc):
    return both(*exchange(sc, "06-close"))


def s_06_time_wait(sc):
    server, client = exchange(sc, "06-close", count="1", quiet_client=True)
    port = re.search(r"^listening on .*:(\d+)$", server.text(), re.M).group(1)
    peer = re.search(r"accept\(\d+, .*:(\d+), \d+\) = ", server.text()).group(1)
    filt = f"( sport = :{peer} and dport = :{port} )"
    ss = subprocess.run(["ss", "-tan", "state", "time-wait", filt],
                        capture_output=True, text=True, timeout=TIMEOUT, check=True)
    return f"{both(server, client)}$ ss -tan state time-wait '{filt}'\n{ss.stdout}"


def wait_states(port, want, shown):
    """`ss -tan` for @port once it lists every state in @want (a deadline, no sleep as sync)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        ss = subprocess.run(["ss", "-tan", f"( sport = :{port} or dport = :{port} )"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout
        if all(s in ss for s in want):
            head, *rows = ss.rstrip("\n").split("\n")
            return f"$ {shown}\n{head}\n" + "".join(r + "\n" for r in sorted(rows))   # a stable order
        if time.monotonic() > deadline:
            raise ScenarioError(f"ss never showed {want} for port {port}:\n{ss}")
        time.sleep(0.05)


def s_03_backlog(sc):
    """Eight clients against listen(5) while the server never accepts: Linux
    completes backlog + 1 handshakes; the others stay in SYN-SENT."""
    server, port = sc.server("03-listen", "-q")
    server.p.send_signal(signal.SIGSTOP)        # it must not exit at the first client
    clients = []
    try:
        for _ in range(8):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", int(port)))
            except BlockingIOError:
                pass
            clients.append(c)
        deadline = time.monotonic() + TIMEOUT
        while True:     # until the kernel has answered all it will: 6 ESTAB, 2 SYN-SENT
            # exclude time-wait: an earlier run's connections to a port the
            # kernel hands out again are not this lesson's clients.
            clients_ss = subprocess.run(["ss", "-tan", "exclude", "time-wait", f"dport = :{port}"], capture_output=True,
                                        text=True, timeout=TIMEOUT, check=True).stdout
            if clients_ss.count("ESTAB") == 6 and clients_ss.count("SYN-SENT") == 2:
                break
            if time.monotonic() > deadline:
                raise ScenarioError(f"expected 6 ESTAB and 2 SYN-SENT clients:\n{clients_ss}")
            time.sleep(0.05)
        lines = clients_ss.rstrip("\n").split("\n")
        listener = subprocess.run(["ss", "-tln", f"sport = :{port}"], capture_output=True, text=True,
                                  timeout=TIMEOUT, check=True).stdout
    finally:
        server.p.send_signal(signal.SIGCONT)
        server.finish()
        for c in clients:
            c.close()
    return (f"$ ss -tln 'sport = :{port}'\n{listener}"
            f"$ ss -tan exclude time-wait 'dport = :{port}'      # the eight clients\n{lines[0]}\n"
            + "\n".join(sorted(lines[1:], key=lambda l: (l.split()[0] != "ESTAB", l))) + "\n")


def build_seed_demo6(tmp):
    """The seed's demo6 (tests/seed/demo6.cpp), built with g++ into @tmp."""
    exe = Path(tmp) / "demo6"
    r = subprocess.run(["g++", "-O1", "-w", "-o", str(exe), str(ROOT / "tests" / "seed" / "demo6.cpp")],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ScenarioError(f"g++ could not build the seed's demo6:\n{r.stderr}")
    return exe


def s_06_server_closes_first(sc):
    """The server closes first (Ctrl-C while a client is connected): the
    server's port waits in FIN-WAIT-2, then TIME-WAIT; a kit server (with
    SO_REUSEADDR) restarts on it, the seed's demo6 (without) cannot."""
    import tempfile
    server, port = sc.server("06-close", "-k", "-q", port="0")
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    server.p.send_signal(signal.SIGINT)         # Ctrl-C: the server closes first
    server.finish()
    out = (f"# terminal 1\n$ {server.shown}\n{server.text()}"
           f"^C   (while terminal 2 is connected with nc 127.0.0.1 {port})\n")
    out += wait_states(port, ["FIN-WAIT-2", "CLOSE-WAIT"], f"ss -tan '( sport = :{port} or dport = :{port} )'")
    c.close()                                   # nc exits (Ctrl-D): its FIN
    out += "# terminal 2: Ctrl-D ends nc, which closes its end\n"
    out += wait_states(port, ["TIME-WAIT"], f"ss -tan '( sport = :{port} or dport = :{port} )'")
    again, _ = sc.server("06-close", "-q", port=port)
    out += f"{again.text()}".join([f"$ build/06-close/server -q {port}\n", ""])
    again.kill()
    out += "^C\n"
    with tempfile.TemporaryDirectory() as tmp:
        demo6 = build_seed_demo6(tmp)
        p = Proc([str(demo6), port], f"./demo6 {port}")
        out += "# the seed's server (g++ -O1 -w -o demo6 tests/seed/demo6.cpp), no SO_REUSEADDR\n"
        out += p.finish()
    return out


# --- lessons 07 and 08: framing, fork ------------------------------------

def with_faults(sc, spec, lesson, prog, *args):
    """Start build/LESSON/PROG under tools/with-faults SPEC (fault injection)."""
    shown = " ".join(["tools/with-faults", f"'{spec}'", f"build/{lesson}/{prog}", *args])
    p = Proc([str(ROOT / "tools" / "with-faults"), spec, str(BUILD / lesson / prog), *args], shown,
             {"LAB_BUILD": str(BUILD)})
    sc.procs.append(p)
    return p


def frame(payload):
    """A message as lessons 07-10 put it on the wire: 4-byte big-endian length, bytes."""
    return len(payload).to_bytes(4, "big") + payload


def send_then_read_all(port, data, pieces=1):
    """A Python client: connect, send `data` in `pieces` send() calls, shut down
    the sending side, read until the server closes; return what came back."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as c:
        step = -(-len(data) // pieces)
        try:
            for i in range(0, len(data), step):
                c.sendall(data[i:i + step])
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass                    # the server has closed (or reset) us already
        return read_until_closed(c)


def read_until_closed(c):
    """What socket c receives until the server closes it (a reset counts as closed)."""
    reply = b""
    while True:
        try:
            piece = c.recv(4096)
        except ConnectionResetError:
            break
        if not piece:
            break
        reply += piece
    return reply


def client_sent_first(sc, server, lesson, *args):
    """Start a lesson's client while @server is paused (SIGSTOP), and let the
    server go on once the client's first message is sent: the server's view
    after accept() (bytes waiting) is then the same on every run."""
    server.p.send_signal(signal.SIGSTOP)
    try:
        client = sc.start(lesson, "client", *args)
        client.wait_for(r"^(?:sent: |发送：)")
    finally:
        server.p.send_signal(signal.SIGCONT)
    return client


def s_07_glued(sc):
    server, port = sc.server("06-close")
    server.p.send_signal(signal.SIGSTOP)        # busy: the messages queue up
    try:
        c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        for i in (1, 2, 3):
            c.sendall(f"这是第{i}个超级女生，编号{i:03d}。".encode())
    finally:
        server.p.send_signal(signal.SIGCONT)
    with c:
        server.wait_for(r"^sent: ok$")
        c.shutdown(socket.SHUT_WR)
        reply = read_until_closed(c)
    server.finish()
    return (f"# terminal 1: lesson 06's server\n{server.transcript()}"
            f"# terminal 2: a client sent three messages back to back, as `client -i 0` would if it\n"
            f"# did not wait for each ok, while the server was busy. All it got back: {reply!r}\n")


def s_07_split(sc):
    server = with_faults(sc, "recv:short=7", "06-close", "server", "0")
    port = server.wait_for(r"^listening on .*:(\d+)$").group(1)
    server.p.send_signal(signal.SIGSTOP)        # the same view after accept() on every run
    try:
        c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        c.sendall("这是第1个超级女生，编号001。".encode())
        c.shutdown(socket.SHUT_WR)
    finally:
        server.p.send_signal(signal.SIGCONT)
    with c:
        reply = read_until_closed(c)
    server.finish()
    return (f"# terminal 1: lesson 06's server, each recv() cut to at most 7 bytes\n{server.transcript()}"
            f"# terminal 2: a client sent one 40-byte message. All it got back: {reply!r}\n")


def s_07_exchange(sc):
    return both(*exchange(sc, "07-framing"))


def s_07_split_framed(sc):
    server = with_faults(sc, "recv:short=7", "07-framing", "server", "0")
    port = server.wait_for(r"^listening on .*:(\d+)$").group(1)
    client = client_sent_first(sc, server, "07-framing", "-n", "3", "-i", "0", "127.0.0.1", port)
    client.finish()
    server.finish()
    return (f"# terminal 1: lesson 07's server, each recv() cut to at most 7 bytes\n"
            f"{server.transcript()}# terminal 2\n{client.transcript()}")


def s_07_too_long(sc):
    server, port = sc.server("07-framing", "-k")
    server.p.send_signal(signal.SIGSTOP)        # all 20 bytes wait when it accepts
    try:
        c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        c.sendall((1 << 20).to_bytes(4, "big") + b"x" * 16)
        c.shutdown(socket.SHUT_WR)
    finally:
        server.p.send_signal(signal.SIGCONT)
    with c:
        reply = read_until_closed(c)
    server.wait_for(r"protocol error(.|\n)*close\(4\) = 0")
    client = client_sent_first(sc, server, "07-framing", "-n", "1", "127.0.0.1", port)
    client.finish()
    server.wait_for(r"^sent: ok(.|\n)*close\(4\) = 0")
    wait_in_poll(server.p.pid, "accept")
    server.p.send_signal(signal.SIGINT)
    server.finish()
    return (f"# terminal 1\n{server.transcript()}"
            f"# terminal 2: a client sent the header 00 10 00 00 (1 MiB) and 16 bytes,\n"
            f"# and got back {reply!r} before the server closed it; then lesson 07's client:\n"
            f"{client.transcript()}# terminal 1: Ctrl-C\n")


def ps_family(pid):
    """`ps` of a process and its children: pid, parent, state, command."""
    argv = ["ps", "-o", "pid,ppid,stat,args", "--pid", str(pid), "--ppid", str(pid)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT).stdout
    out = out.replace(str(BUILD) + "/", "build/")
    return f"$ ps -o pid,ppid,stat,args --pid {pid} --ppid {pid}\n{out}"


def proc_state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def wait_state(pid, states):
    deadline = time.monotonic() + TIMEOUT
    while proc_state(pid) not in states:
        if time.monotonic() > deadline:
            raise ScenarioError(f"process {pid} never reached state {states}")
        time.sleep(0.01)


def wait_in_poll(pid, where="poll"):
    """Wait until process @pid sleeps in poll() or epoll_wait() (its wchan
    says so; where="accept": in accept()): a signal sent now interrupts that
    call, on every run alike, and the trace shows it failing with EINTR."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            wchan = Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            wchan = ""
        if where in wchan and proc_state(pid) == "S":
            return
        if time.monotonic() > deadline:
            raise ScenarioError(f"process {pid} never waited in {where} (wchan {wchan!r})")
        time.sleep(0.01)


def children_of(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()]


def s_08_second_client_waits(sc):
    server, port = sc.server("07-framing", "-q", "-k")
    a = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    a.sendall(frame("A 的第一条".encode()))
    a.recv(6)
    client = sc.start("07-framing", "client", "-n", "1", "-t", "1", "127.0.0.1", port)
    client.finish()
    server.p.send_signal(signal.SIGINT)
    server.finish()
    a.close()
    return (f"# terminal 1: lesson 07's server, one client after another\n{server.transcript()}"
            f"# terminal 2: client A (Python) connected, sent one frame and stays connected\n"
            f"# terminal 3: a second client, giving up after 1 s (-t 1)\n{client.transcript()}"
            f"# terminal 1: Ctrl-C\n")


def s_08_two_at_once(sc):
    # -q: the trace lines of the parent and of its children ([server:PID])
    # interleave differently on every run; the data lines tell the story.
    server, port = sc.server("08-fork", "-q")
    a = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    a.sendall(frame("A 的第一条".encode()))
    a.recv(6)
    server.wait_for(r"^sent: ok$")
    ps = ps_family(server.p.pid)
    client = sc.start("08-fork", "client", "-q", "-n", "2", "-i", "0", "127.0.0.1", port)
    client.finish()
    # B's child prints its last "sent: ok" after the send, so the client may
    # be gone before the line is: wait for it, or A's next line may come first.
    server.wait_for(r"^sent: ok$(?:[\s\S]*?^sent: ok$){2}")
    a.sendall(frame("A 的第二条".encode()))
    a.recv(6)
    a.close()
    deadline = time.monotonic() + TIMEOUT
    while children_of(server.p.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    server.p.send_signal(signal.SIGINT)
    server.finish()
    return (f"# terminal 1\n{server.transcript()}"
            f"# terminal 2: client A (Python) connected and sent one frame, then:\n{ps}"
            f"# terminal 3, while A is still connected\n{client.transcript()}"
            f"# then A sent its second frame and left; Ctrl-C in terminal 1\n")


def s_08_zombie(sc):
    server, port = sc.server("08-fork", "-q")
    with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as a:
        a.sendall(frame(b"hello"))
        a.recv(6)
        (child,) = children_of(server.p.pid)
        server.p.send_signal(signal.SIGSTOP)    # the parent cannot run its SIGCHLD handler
        wait_state(server.p.pid, ("T",))
    wait_state(child, ("Z",))                   # the client left: the child has exited
    zombie = ps_family(server.p.pid)
    server.p.send_signal(signal.SIGCONT)        # the pending SIGCHLD is handled: reaped
    wait_state(child, (None,))
    reaped = ps_family(server.p.pid)
    server.p.send_signal(signal.SIGINT)
    server.finish()
    return (f"# terminal 1\n$ build/08-fork/server -q 0 &\n"
            f"# a client connects, sends one frame; the parent is stopped (kill -STOP); the client leaves\n"
            f"{zombie}$ kill -CONT {server.p.pid}\n{reaped}")


def s_09_many_at_once(sc):
    server, port = sc.server("09-poll")
    whole = frame("A 的消息，分两次发".encode())
    server.p.send_signal(signal.SIGSTOP)        # the same view after accept() on every run
    try:
        a = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        a.sendall(whole[:9])                    # a header and half the message, then nothing
    finally:
        server.p.send_signal(signal.SIGCONT)
    server.wait_for(r"recv\(4, .*\) = 9$")
    clients = []
    for _ in range(2):
        clients.append(client_sent_first(sc, server, "09-poll", "-q", "-n", "2", "-i", "0",
                                         "127.0.0.1", port))
        clients[-1].finish()
        server.wait_for(r"close\(5\) = 0(.|\n)*" * len(clients))
    a.sendall(whole[9:])
    a.recv(6)
    a.close()
    server.wait_for(r"close\(4\) = 0")
    wait_in_poll(server.p.pid)
    server.p.send_signal(signal.SIGINT)
    server.finish()
    return (f"# terminal 1\n{server.transcript()}"
            f"# terminal 2: client A (Python) sent 9 bytes of a frame and stopped\n"
            f"# terminal 3, while A is stopped mid-frame\n{clients[0].transcript()}{clients[1].transcript()}"
            f"# then A sent the rest of its frame and left; Ctrl-C in terminal 1\n")


def s_10_edge(sc):
    # A Python client, sending each frame once the server waits in epoll_wait()
    # again: the server's drain (recv until EAGAIN) shows the same on every
    # run. (The lesson's client sends its next frame as soon as it has its
    # reply, racing the server's last recv(): EAGAIN one run, a frame the next.)
    server, port = sc.server("10-epoll", "--edge")
    frames = [frame(f"这是第{i}个超级女生，编号{i:03d}。".encode()) for i in (1, 2, 3)]
    # No SIGSTOP here: a stopped and continued epoll_wait() fails with EINTR.
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    server.wait_for(r"accept\(3, .*EAGAIN")         # accepted: nothing to read yet
    with c:
        for f in frames:
            wait_in_poll(server.p.pid)
            c.sendall(f)
            if c.recv(6) != frame(b"ok"):
                raise ScenarioError("10-edge: the server did not answer ok")
        server.wait_for(r"send\(5, .*\n.*recv\(5, buf, \d+, 0\) = -1 EAGAIN.*\n(.|\n)*"
                        r"send\(5, (.|\n)*send\(5, (.|\n)*EAGAIN")
        wait_in_poll(server.p.pid)
    server.wait_for(r"close\(5\) = 0")
    wait_in_poll(server.p.pid)
    server.p.send_signal(signal.SIGINT)
    server.finish()
    return (f"# terminal 1\n{server.transcript()}"
            f"# terminal 2: a client (Python) sent the seed's first three messages, framed, each one\n"
            f"# once the server was back in epoll_wait(), read each reply, and closed; Ctrl-C in terminal 1\n")


def s_10_fd_limit(sc):
    shown = "prlimit --nofile=256:256 build/10-epoll/server -q 0"
    p = Proc(["prlimit", "--nofile=256:256", str(BUILD / "10-epoll" / "server"), "-q", "0"], shown)
    sc.procs.append(p)
    p.wait_for(r"^listening on .*:(\d+)$")
    p.p.send_signal(signal.SIGINT)
    return p.finish()


SCENARIOS = {name[2:].replace("_", "-"): fn
             for name, fn in globals().items() if name.startswith("s_")}


def run_scenario(name):
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario '{name}'; known: {', '.join(sorted(SCENARIOS))}")
    sc = Scenario()
    try:
        text = SCENARIOS[name](sc)
    finally:
        sc.close()
    # No trailing blanks (ss pads its columns): editors would strip them.
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def normalise(text):
    """What --check compares: numbers that change on every run masked."""
    text = re.sub(r"pid=\d+", "pid=N", text)
    # ps rows (lesson 08): pid and parent pid, of any width, and the ps/kill command lines.
    text = re.sub(r"(?m)^ *\d+ +\d+ +([A-Z][a-z+<]*) ", r"N N \1 ", text)
    text = re.sub(r"(--pid|--ppid|kill -CONT) \d+", r"\1 N", text)
    text = re.sub(r"(?m)^ *PID +PPID ", "PID PPID ", text)
    text = re.sub(r"\d{4,}", "N", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def main():
    global BUILD
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    ap.add_argument("--build", default=os.environ.get("LAB_BUILD", str(ROOT / "build")),
                    help="where the built programs are (default: build/, or $LAB_BUILD)")
    ap.add_argument("--scenario", metavar="NAME", help="print one scenario's output and exit")
    ap.add_argument("readmes", nargs="*", type=Path)
    opts = ap.parse_args()
    BUILD = Path(opts.build)
    if opts.scenario:
        try:
            sys.stdout.write(run_scenario(opts.scenario))
        except (ScenarioError, OSError, subprocess.SubprocessError) as e:
            print(f"lesson-output: {e}", file=sys.stderr)
            return 1
        return 0
    readmes = opts.readmes or sorted((ROOT / "lessons").glob("*/README.md"))
    stale = 0
    cache = {}
    for readme in readmes:
        text = readme.read_text(encoding="utf-8")

        def fill(m):
            nonlocal stale
            name = m.group("name")
            if name not in cache:
                cache[name] = run_scenario(name)
            new = cache[name]
            if normalise(new) == normalise(m.group("body")):
                return m.group(0)       # only ports and the like differ: keep it
            stale += 1
            if opts.check:
                print(f"{readme}: block '{name}' is stale:", file=sys.stderr)
                sys.stderr.writelines(difflib.unified_diff(
                    m.group("body").splitlines(True), new.splitlines(True), "README", "now"))
            return m.group(1) + new + m.group(4)

        try:
            updated = BLOCK.sub(fill, text)
        except (ScenarioError, OSError, subprocess.SubprocessError) as e:
            print(f"lesson-output: {readme}: {e}", file=sys.stderr)
            return 1
        if not opts.check and updated != text:
            readme.write_text(updated, encoding="utf-8")
            print(f"updated {readme.relative_to(ROOT) if readme.is_absolute() else readme}")
    if opts.check and stale:
        print(f"lesson-output: {stale} stale block(s); run 'make lesson-output'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
