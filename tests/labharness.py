"""labharness - start the lesson programs as real processes and watch them.

Used as a pytest plugin (see the root conftest.py). The `lab` fixture starts
servers and clients, reads the port a server printed (PORT 0: the kernel
chooses), and kills whatever is still running when the test ends.

    def test_server_replies_ok(lab):
        server = lab.server("05-send-recv")          # waits for "listening on"
        with lab.connect(server.port) as sock:       # a raw Python peer
            sock.sendall(b"hello")
            assert lab.recv_exactly(sock, 2) == b"ok"
        assert server.wait() == 0

No fixed ports, no sleeps as synchronisation: every wait polls for a
condition with a deadline, and a missed deadline fails the test.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import diagnose

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LAB_BUILD", ROOT / "build"))
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]-*") if p.is_dir())

# How long a program may take to reach a point we wait for.
DEFAULT_WAIT = 10.0
# Most output kept from one stream of one program (see Proc._pump), and from
# every program one test starts together: 40 programs that each flood their
# output cost the harness this much, not 40 times the cap.
OUTPUT_CAP = 16 * 1024 * 1024
OUTPUT_BUDGET = 32 * 1024 * 1024
# Most of a program's output quoted in one failure message.
MESSAGE_CAP = 8 * 1024
# Most bytes of one strace log (strace_log_arg): the rest is read and dropped.
STRACE_LOG_CAP = 4 * 1024 * 1024

ADDR_RE = re.compile(r"^(listening on|bound to) (\S+):(\d+)$", re.M)


def program(lesson, name):
    """Path of a built lesson program, such as build/05-send-recv/server."""
    path = BUILD / lesson / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make' first (lesson {lesson})")
    return path


def client_source(lesson):
    """The client.c that build/<lesson>/client is built from: the lesson's own,
    or for a lesson without one that comes after a lesson with one (08-10),
    the latest earlier lesson's (the Makefile's rule); None for 01-03."""
    with_client = [l for l in LESSONS[:LESSONS.index(lesson) + 1] if (ROOT / "lessons" / l / "client.c").is_file()]
    return ROOT / "lessons" / with_client[-1] / "client.c" if with_client else None


def base_env(extra=None):
    """The environment the programs run in: English, no colour."""
    env = dict(os.environ)
    env.pop("LAB_LANG", None)
    env.pop("LAB_FAULT", None)
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


# Fault injection from outside the program (tools/sysfault.c): the key
# fault_env() puts the spec under. Lab.start takes it out (it never reaches
# the program) and runs the program under sysfault.
SYSFAULT_SPEC = "LAB_SYSFAULT_SPEC"


def sysfault_path():
    """build/tools/sysfault (LAB_BUILD's): the ptrace fault supervisor."""
    return BUILD / "tools" / "sysfault"


def fault_env(spec, extra=None):
    """The env for a lesson program under fault injection (LAB_FAULT's spec
    syntax, src/interpose/README.md), plus `extra`:

        r = lab.run_client("05-send-recv", "-i", "0", port=port,
                           env=fault_env("send:short=1;send:eintr=every3"))

    The faults are made from outside the program: Lab.start runs it under
    tools/sysfault, a ptrace supervisor that shortens the length of its
    sends and reads and fails its calls with EINTR at the syscall boundary,
    whatever libc wrapper or raw syscall() made them, and reports each
    injection to the harness (Proc.injected()). Nothing in the program's
    own process decides whether a fault happens or was seen."""
    if os.uname().machine != "x86_64":
        pytest.skip("fault injection from outside the program (tools/sysfault) needs x86_64")
    if not sysfault_path().exists():
        pytest.fail(f"{sysfault_path()} is missing: run 'make' first (fault injection)")
    env = {SYSFAULT_SPEC: spec}
    if extra:
        env.update(extra)
    return env


def preload_fault_env(spec, extra=None):
    """The env for LD_PRELOAD fault injection inside the program (LAB_FAULT and
    LAB_BUILD's libfault.so): what students use for their own experiments,
    and what tests of the interposer itself use. Never for grading: a raw
    syscall() goes around it. A sanitizer build's libfault.so links libasan,
    which must come first in LD_PRELOAD: it is put there."""
    lib = BUILD / "libfault.so"
    if not lib.exists():
        pytest.fail(f"{lib} is missing: run 'make' first (fault injection)")
    preload = [str(lib)]
    ldd = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
    m = re.search(r"^\s*libasan\S* => (\S+)", ldd, re.M)
    if m:
        preload.insert(0, m.group(1))
    env = {"LD_PRELOAD": " ".join(preload), "LAB_FAULT": spec}
    if extra:
        env.update(extra)
    return env


def no_leak_check(env):
    """env with LeakSanitizer off: it cannot run under ptrace (strace,
    sysfault) and would fail a SAN=1 program at exit; leaks are checked in
    the other tests."""
    asan = (env or {}).get("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", ""))
    return {**(env or {}), "ASAN_OPTIONS": f"{asan}:detect_leaks=0".lstrip(":")}


def strace_log_arg(path):
    """strace's -o for a log at `path` of at most STRACE_LOG_CAP bytes: strace
    writes into a pipe whose reader keeps that much and drops the rest, so a
    program that floods its calls fills neither the disk nor the harness.
    (strace waits for the reader before it exits: the log is whole then.)"""
    return f"|head -c {STRACE_LOG_CAP} > {shlex.quote(str(path))}; cat > /dev/null"


def cut_text(text, cap=MESSAGE_CAP):
    """`text` for a message: its head and tail when longer than `cap`."""
    if len(text) <= cap:
        return text
    return f"{text[:cap // 2]}\n[... {len(text) - cap} characters cut ...]\n{text[-cap // 2:]}"


class OutputBudget:
    """Bytes of output the harness still keeps for one test's programs."""

    def __init__(self, total=OUTPUT_BUDGET):
        self.left = total
        self.lock = threading.Lock()

    def take(self, n):
        with self.lock:
            n = min(n, self.left)
            self.left -= n
            return n


class Proc:
    """A running program whose stdout and stderr are collected as they come."""

    def __init__(self, argv, env=None, stdin=subprocess.DEVNULL, cwd=None, fault_report=None, budget=None):
        self.argv = [str(a) for a in argv]
        self._budget = budget or OutputBudget()
        # Under sysfault (fault_env): its report, whose first line is the
        # program's pid and each other line one injection.
        self.fault_report = fault_report
        self._program_pid = None
        self.popen = subprocess.Popen(
            self.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=base_env(env), cwd=cwd, start_new_session=True)
        self._out = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self._err), daemon=True),
        ]
        for t in self._readers:
            t.start()
        self.port = None

    def _pump(self, stream, buf):
        # Keep reading to the end (a full pipe would block the program), but
        # keep at most OUTPUT_CAP bytes, and only while the test's budget
        # lasts: a program that floods its output (a loop spinning on
        # recv() == 0), or forty of them, must not take the runner's memory.
        cut = False
        for chunk in iter(lambda: stream.read1(65536), b""):
            with self._cond:
                keep = self._budget.take(min(len(chunk), max(OUTPUT_CAP - len(buf), 0))) if not cut else 0
                buf.extend(chunk[:keep])
                if keep < len(chunk) and not cut:
                    cut = True
                    buf.extend(b"\n[... output cut by the harness: it keeps %d bytes per stream and %d "
                               b"for all of a test's programs ...]\n" % (OUTPUT_CAP, OUTPUT_BUDGET))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self):
        """The program's pid: under sysfault, the traced program's, not the supervisor's."""
        if self.fault_report is None:
            return self.popen.pid
        if self._program_pid is None:
            deadline = time.monotonic() + DEFAULT_WAIT
            while self._program_pid is None:
                first = self._report_lines()[:1]
                if first and first[0].startswith("pid "):
                    self._program_pid = int(first[0].split()[1])
                elif self.popen.poll() is not None or time.monotonic() > deadline:
                    self._supervisor_failed()
                    raise AssertionError(f"sysfault never started {self.argv[self.argv.index('--') + 1]}"
                                         f"\n--- stderr:\n{cut_text(self.stderr)}")
                else:
                    time.sleep(0.01)
        return self._program_pid

    def _report_lines(self):
        try:
            return Path(self.fault_report).read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def _supervisor_failed(self):
        """sysfault could not run the program (no pid line): a machine without
        ptrace for us is no fault of the program's."""
        if self.popen.poll() is not None and "cannot trace" in self.stderr:
            pytest.skip(f"fault injection needs ptrace, which this machine refuses:\n{self.stderr[-500:]}")

    def injected(self, call=None):
        """What sysfault injected into this program (and its children), one
        dict per injection: {"pid", "call" (send, recv, ...), "syscall"
        (sendto, write, ...), "fd", "what" ("short write 2->1", "EINTR")};
        only those of `call` when given. [] when not run under faults."""
        out = []
        for line in self._report_lines() if self.fault_report else []:
            m = re.match(r"^(\d+) (\w+) (\w+)\((-?\d+)\) (.*)$", line)
            if m and (call is None or m.group(2) == call):
                out.append({"pid": int(m.group(1)), "call": m.group(2), "syscall": m.group(3),
                            "fd": int(m.group(4)), "what": m.group(5)})
        return out

    @property
    def stdout(self):
        with self._cond:
            return self._out.decode("utf-8", "replace")

    @property
    def stderr(self):
        with self._cond:
            return self._err.decode("utf-8", "replace")

    @property
    def stdout_bytes(self):
        with self._cond:
            return bytes(self._out)

    def wait_for(self, pattern, stream="stdout", timeout=DEFAULT_WAIT):
        """Wait until `pattern` (a regex) matches stdout or stderr; return the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = (self._out if stream == "stdout" else self._err).decode("utf-8", "replace")
                m = rx.search(text)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not any(t.is_alive() for t in self._readers)):
                    raise AssertionError(
                        f"{self.argv[0]}: {pattern!r} never appeared on {stream} "
                        f"(exit {self.popen.poll()})\n{self.state()}"
                        f"--- stdout:\n{cut_text(self._out.decode('utf-8', 'replace'))}"
                        f"\n--- stderr:\n{cut_text(self._err.decode('utf-8', 'replace'))}")
                self._cond.wait(min(left, 0.1))

    def wait(self, timeout=DEFAULT_WAIT):
        """Wait for the program to exit; return its exit code (a hang fails)."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            state = self.state()
            self.kill()
            raise AssertionError(
                f"{' '.join(self.argv)} did not exit within {timeout}s\n{state}--- stdout:\n{cut_text(self.stdout)}"
                f"\n--- stderr:\n{cut_text(self.stderr)}")
        for t in self._readers:
            t.join(5)
        if self.fault_report is not None and not self._report_lines():
            self._supervisor_failed()
            raise AssertionError(f"sysfault could not run the program (exit {rc})\n--- stderr:\n{cut_text(self.stderr)}")
        return rc

    def state(self):
        """What the program is doing, or the sanitizer's report of how it
        ended, as lines for a failure message ("" when there is nothing to say)."""
        return diagnose.state_of(self)

    def signal(self, sig):
        """Send `sig` to the program itself (under sysfault too, so SIGSTOP stops it)."""
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)

    def forget_output(self):
        """Let go of what the program printed (the test is over: a failed test's
        traceback may keep this Proc alive for the rest of the run)."""
        for t in self._readers:
            t.join(1)
        with self._cond:
            self._out.clear()
            self._err.clear()

    def json_trace(self):
        """The --json trace: one dict per line of stderr that is JSON."""
        return json_lines(self.stderr)


class Result:
    """What a finished program did: exit code, stdout, stderr (read from its
    Proc when asked: no copies of a flood of output)."""

    def __init__(self, proc, rc):
        self.argv = proc.argv
        self.returncode = rc
        self._proc = proc

    @property
    def stdout(self):
        return self._proc.stdout

    @property
    def stderr(self):
        return self._proc.stderr

    @property
    def stdout_bytes(self):
        return self._proc.stdout_bytes

    def __repr__(self):
        return (f"<{' '.join(self.argv)} exit {self.returncode}>\n--- stdout:\n{cut_text(self.stdout)}"
                f"\n--- stderr:\n{cut_text(self.stderr)}")


def json_lines(text):
    """The JSON objects among the lines of `text` (a --json trace; other lines skipped)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def parse_strace(path):
    """Syscalls from an `strace -f -o FILE` log: a list of (name, args, result)."""
    calls = []
    pending = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        m = re.match(r"^(?:\[pid\s+)?(\d+)\]?\s+(.*)$", line)
        pid, rest = (m.group(1), m.group(2)) if m else ("0", line)
        if rest.startswith("+++") or rest.startswith("---"):
            continue
        if "<unfinished ...>" in rest:
            pending[pid] = rest.split("<unfinished ...>")[0]
            continue
        r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
        c = re.match(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$", rest)
        if c:
            calls.append((c.group(1), c.group(2), c.group(3) + c.group(4)))
    return calls


# The socket API calls the lessons teach, by the syscall glibc makes for them.
SOCKET_CALLS = {
    "socket": "socket", "bind": "bind", "listen": "listen", "accept": "accept",
    "accept4": "accept", "connect": "connect", "sendto": "send", "send": "send",
    "sendmsg": "send", "recvfrom": "recv", "recv": "recv", "recvmsg": "recv",
    "shutdown": "shutdown",
}


def socket_call_names(calls):
    """The lesson-level names (socket, bind, ..., send, recv) of strace's calls, in order."""
    return [SOCKET_CALLS[name] for name, _, _ in calls if name in SOCKET_CALLS]


class Lab:
    """What the `lab` fixture gives a test: start programs, connect, clean up."""

    def __init__(self, private=None):
        self.procs = []
        self.socks = []
        # A folder only the harness can write (pytest's basetemp: root's
        # 0700 folder when grading), for the fault reports.
        self.private = Path(private) if private else None
        self._reports = 0
        self.budget = OutputBudget()

    def start(self, argv, env=None, strace=None):
        """Start any program; with strace=FILE, under `strace -f` logging to
        FILE; with env=fault_env(SPEC), under sysfault."""
        spec = (env or {}).get(SYSFAULT_SPEC)
        report = None
        if spec is not None:
            if strace:
                pytest.fail("a program runs under strace or under fault injection, not both (one tracer)")
            env = no_leak_check({k: v for k, v in env.items() if k != SYSFAULT_SPEC})
            if self.private is None:
                self.private = Path(tempfile.mkdtemp(prefix="lab-"))
            self._reports += 1
            report = self.private / f"sysfault-{self._reports}.report"
            argv = [sysfault_path(), "-o", report, spec, "--", *argv]
        if strace:
            if not shutil.which("strace"):
                pytest.fail("strace is not installed (run: make test, which installs it)")
            argv = ["strace", "-f", "-qq", "-e", "trace=network,close", "-o", strace_log_arg(strace)] + list(argv)
            env = no_leak_check(env)
        p = Proc(argv, env=env, fault_report=report, budget=self.budget)
        self.procs.append(p)
        return p

    def server(self, lesson, *args, port=0, env=None, strace=None, wait=True):
        """Start a lesson's server on `port` (0: any free port) and read its port."""
        argv = [program(lesson, "server"), *args, str(port)]
        p = self.start(argv, env=env, strace=strace)
        if wait:
            m = p.wait_for(ADDR_RE.pattern)
            p.port = int(m.group(3))
            p.address = m.group(2)
        return p

    def client(self, lesson, *args, host="127.0.0.1", port, env=None, strace=None):
        """Start a lesson's client against host:port; returns the running Proc."""
        argv = [program(lesson, "client"), *args, host, str(port)]
        return self.start(argv, env=env, strace=strace)

    def run(self, argv, env=None, timeout=DEFAULT_WAIT, strace=None):
        """Run a program to its end; return a Result (a hang fails the test)."""
        p = self.start(argv, env=env, strace=strace)
        return Result(p, p.wait(timeout))

    def run_client(self, lesson, *args, host="127.0.0.1", port, env=None, timeout=DEFAULT_WAIT, strace=None):
        p = self.client(lesson, *args, host=host, port=port, env=env, strace=strace)
        return Result(p, p.wait(timeout))

    def connect(self, port, host="127.0.0.1", timeout=DEFAULT_WAIT):
        """A raw TCP peer: a Python socket connected to host:port."""
        s = socket.create_connection((host, port), timeout=timeout)
        self.socks.append(s)
        return s

    def accept(self, listener):
        """Accept one connection on a listen() socket: (socket, peer address).
        The socket is closed when the test ends. Fails at once, not at the
        deadline, when every program the test started has exited without
        connecting (a client that stops at its first step)."""
        timeout = listener.gettimeout()
        deadline = time.monotonic() + (timeout if timeout is not None else DEFAULT_WAIT)
        try:
            while True:
                gone = bool(self.procs) and all(p.popen.poll() is not None for p in self.procs)
                listener.settimeout(0 if gone else min(0.1, max(deadline - time.monotonic(), 0.001)))
                try:
                    conn, peer = listener.accept()
                    break
                except (BlockingIOError, socket.timeout):
                    if gone:
                        said = "".join(f"\n--- {p.argv[0]} (exit {p.popen.returncode}) stderr:\n{cut_text(p.stderr)}"
                                       for p in self.procs)
                        raise AssertionError(f"no program connected: each one exited first{said}") from None
                    if time.monotonic() >= deadline:
                        raise AssertionError(f"no program connected within {timeout}s\n"
                                             f"{diagnose.report_programs(self.procs)}") from None
        finally:
            listener.settimeout(timeout)
        conn.settimeout(DEFAULT_WAIT)
        self.socks.append(conn)
        return conn, peer

    def listen(self, host="127.0.0.1"):
        """A raw TCP server socket on a free port: (socket, port)."""
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(8)
        s.settimeout(DEFAULT_WAIT)
        self.socks.append(s)
        return s, s.getsockname()[1]

    def recv_exactly(self, sock, n, timeout=DEFAULT_WAIT, hint=""):
        """Read exactly n bytes (fewer only if the peer closes). If they do not
        come, fail saying what did and what the program is doing, at the
        deadline or as soon as it plainly waits for nothing (diagnose.py);
        `hint` (the likely mistake) ends the message's first line."""
        __tracebackhide__ = True
        return diagnose.receive(self.procs, sock, n, timeout, hint)

    def recv_until_closed(self, sock, timeout=DEFAULT_WAIT, hint=""):
        """Read until the peer closes; fails as recv_exactly() does if it does not."""
        __tracebackhide__ = True
        return diagnose.receive(self.procs, sock, None, timeout, hint)

    def cleanup(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        for p in self.procs:
            p.kill()
            p.forget_output()


def seed_message(i):
    """The seed's i-th message, as bytes on the wire (UTF-8, no NUL)."""
    return f"这是第{i}个超级女生，编号{i:03d}。".encode()


def free_port():
    """A port that was free a moment ago (for tests that need a port nobody uses)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=DEFAULT_WAIT):
    """Poll `condition()` until it is true; return whether it became true
    before the deadline. Assert on the result, with a message saying what:

        assert wait_until(lambda: time_wait_on(port)), f"no TIME_WAIT on port {port}"
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


# Socket states as /proc/net/tcp shows them, in hex (include/net/tcp_states.h).
TCP_TIME_WAIT = "06"
TCP_CLOSE_WAIT = "08"
TCP_LISTEN = "0A"


def _tcp_table_rows():
    """The fields of each line of /proc/net/tcp and /proc/net/tcp6."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            yield line.split()


def _port(field):
    return int(field.rsplit(":", 1)[1], 16)


def tcp_sockets():
    """The kernel's TCP sockets, from /proc/net/tcp and /proc/net/tcp6:
    a list of (local port, remote port, state), state in hex (TCP_LISTEN)."""
    return [(_port(f[1]), _port(f[2]), f[3]) for f in _tcp_table_rows()]


def unread_bytes(port, peer_port):
    """Bytes queued unread in the receive buffer of the socket port <- peer_port
    (/proc/net/tcp's rx_queue), or None if there is no such socket."""
    for f in _tcp_table_rows():
        if (_port(f[1]), _port(f[2])) == (port, peer_port):
            return int(f[4].split(":")[1], 16)
    return None


def accept_queue(port):
    """Connections waiting in the accept queue of the LISTEN socket on `port`
    (/proc/net/tcp's rx_queue for a listening socket), or None if nothing listens."""
    for f in _tcp_table_rows():
        if _port(f[1]) == port and f[3] == TCP_LISTEN:
            return int(f[4].split(":")[1], 16)
    return None


def port_in_state(port, state):
    """Whether the kernel has a TCP socket on local `port` in `state` (TCP_LISTEN)."""
    return any(local == port and st == state for local, _, st in tcp_sockets())


def time_wait_on(port):
    """Whether the kernel has a connection in TIME_WAIT on local `port`."""
    return port_in_state(port, TCP_TIME_WAIT)


def listen_state_seen(port, timeout=DEFAULT_WAIT):
    """Wait until the kernel shows a LISTEN socket on `port` in /proc/net/tcp{,6},
    without connecting to it."""
    return wait_until(lambda: port_in_state(port, TCP_LISTEN), timeout)


# Blocking syscalls by number, where /proc/PID/wchan hides the kernel
# function (it shows "0" without kallsyms): /proc/PID/syscall's first field.
BLOCKING_SYSCALLS = {
    "accept": {"x86_64": ("43", "288"), "aarch64": ("202", "242")},
}


def wait_blocked_in(proc, call, timeout=DEFAULT_WAIT):
    """Wait until `proc` sleeps in the kernel in socket call `call` ("accept"):
    /proc/PID/wchan names a kernel function containing it (inet_csk_accept),
    or /proc/PID/syscall shows its number. Lets a test send a signal only
    once the program really waits there."""
    deadline = time.monotonic() + timeout
    numbers = BLOCKING_SYSCALLS.get(call, {}).get(os.uname().machine, ())
    last = ""
    while time.monotonic() < deadline:
        try:
            last = Path(f"/proc/{proc.pid}/wchan").read_text()
            if call in last:
                return True
            if numbers and Path(f"/proc/{proc.pid}/syscall").read_text().split()[0] in numbers:
                return True
        except (OSError, IndexError):
            last = "(gone)"
        time.sleep(0.02)
    raise AssertionError(f"{proc.argv[0]} never blocked in {call}() (wchan: {last})"
                         f"\n--- stderr:\n{cut_text(proc.stderr)}")


@pytest.fixture
def lab(tmp_path_factory):
    """Start lesson programs and raw peers; everything is killed at the end."""
    lab = Lab(tmp_path_factory.mktemp("lab"))
    yield lab
    lab.cleanup()


def unquote_data(text):
    """The bytes behind a data line's quoting (quote_bytes in src/interpose/decode.c):
    `\\xNN` is the byte NN, `\\\\` and `\\"` are themselves, the rest is UTF-8."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return re.sub(rb'\\(x[0-9a-f]{2}|\\|")',
                  lambda m: bytes([int(m.group(1)[1:], 16)]) if m.group(1).startswith(b"x") else m.group(1),
                  text.encode("utf-8"))
