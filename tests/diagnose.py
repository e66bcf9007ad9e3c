"""diagnose.py - why a wait ran out, from the wire, /proc and the program's stderr.

A test that waits for bytes and gets none must not fail with a bare
`TimeoutError`: it says what did come, what the program at the other end
is doing (exited, and how; asleep in which call, on which socket; spinning
on the CPU), what sits unread in which socket, and the program's last lines
on stderr (the trace, a sanitizer's report). And it need not wait out its
deadline when the program plainly waits for nothing: asleep, using no CPU,
with our bytes unread in its socket (it will never read them), or blocked
reading this very connection while nothing is on its way to it (both sides
wait for each other). Such a wait fails after STALL seconds instead.

    data = receive(lab.procs, sock, 6, timeout=10)      # Lab.recv_exactly
    cpu_used(pid, 1.0)                                   # an idle server's CPU
    sanitizer_report(proc.stderr)                        # ASan/UBSan's own line

Everything here reads /proc (Linux): /proc/PID/{stat,syscall,fd,fdinfo,
schedstat} and /proc/net/tcp{,6}.
"""
import os
import re
import socket
import time
from pathlib import Path

import labharness

# How long a program must sit still, waiting for nothing, before a wait on it
# fails early. Long enough for any scheduling hiccup on a loaded machine:
# "still" means asleep in a socket call, no CPU used, no byte moved.
STALL = 2.0
# How often a silent connection is looked at (a recv() timeout, no sleep).
POLL = 0.1
# Most bytes one recv() asks for (Python allocates that much per call).
CHUNK = 1 << 20
# Children of one program listed in a failure message (a forked server may have a hundred).
KIDS_SHOWN = 5

# The syscalls a program may sleep in while it waits for a socket, by number
# (/proc/PID/syscall gives the number), and the others worth naming.
SYSCALLS = {
    "x86_64": {0: "read", 1: "write", 7: "poll", 19: "readv", 20: "writev", 23: "select",
               34: "pause", 35: "nanosleep", 42: "connect", 43: "accept", 44: "sendto",
               45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 61: "wait4", 230: "clock_nanosleep",
               232: "epoll_wait", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait",
               288: "accept4", 441: "epoll_pwait2"},
    "aarch64": {22: "epoll_pwait", 63: "read", 64: "write", 65: "readv", 66: "writev",
                72: "pselect6", 73: "ppoll", 101: "nanosleep", 115: "clock_nanosleep",
                202: "accept", 203: "connect", 206: "sendto", 207: "recvfrom", 211: "sendmsg",
                212: "recvmsg", 242: "accept4", 260: "wait4", 441: "epoll_pwait2"},
}.get(os.uname().machine, {})
READS = {"read", "readv", "recvfrom", "recvmsg"}
WRITES = {"write", "writev", "sendto", "sendmsg"}
POLLS = {"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2"}
SOCKET_WAITS = READS | WRITES | POLLS | {"accept", "accept4", "connect"}
EPOLLIN, EPOLLET = 0x1, 1 << 31          # <sys/epoll.h>: an fdinfo mask's bits


# --- processes -------------------------------------------------------------

def _stat(pid):
    """(state letter, CPU seconds) of a process, or None when it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ppids():
    """{pid: parent pid} of every process."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            out[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return out


def family(pids):
    """`pids` and every descendant of them (a server's forked children,
    the program strace runs), parents first."""
    parent = _ppids()
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop(0)
        if pid not in out:
            out.append(pid)
            todo.extend(p for p, pp in parent.items() if pp == pid)
    return out


def syscall_of(pid):
    """(call name, [args]) the process sleeps in, or None when it runs or has gone."""
    try:
        words = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return None
    if not words or not words[0].lstrip("-").isdigit() or words[0] == "-1":
        return None
    nr = int(words[0])
    return SYSCALLS.get(nr, f"syscall {nr}"), [int(w, 16) for w in words[1:7]]


def cpu_used(pid, seconds=1.0):
    """(CPU seconds used, seconds it wanted the CPU) by `pid` over `seconds`.
    Wanting is running plus waiting to run (/proc/PID/schedstat): a busy loop
    wants all of `seconds` however loaded the machine is, an idle program
    none; without schedstat it is the CPU time."""
    def sample():
        st = _stat(pid)
        try:
            on, queued = Path(f"/proc/{pid}/schedstat").read_text().split()[:2]
            want = (int(on) + int(queued)) / 1e9
        except (OSError, ValueError):
            want = st[1] if st else 0.0
        return (st[1] if st else 0.0), want
    cpu0, want0 = sample()
    time.sleep(seconds)
    cpu1, want1 = sample()
    return cpu1 - cpu0, want1 - want0


# --- sockets ---------------------------------------------------------------

def tcp_row(local, remote):
    """/proc/net/tcp's row of the connection local port -> remote port:
    (state hex, bytes not yet acknowledged by the peer, bytes unread, inode), or None."""
    for f in labharness._tcp_table_rows():
        if (labharness._port(f[1]), labharness._port(f[2])) == (local, remote):
            tx, rx = (int(x, 16) for x in f[4].split(":"))
            return f[3], tx, rx, f[9]
    return None


def tcp_ports(inode):
    """(local port, remote port) of the TCP socket with this inode, or None."""
    for f in labharness._tcp_table_rows():
        if f[9] == inode:
            return labharness._port(f[1]), labharness._port(f[2])
    return None


def fd_target(pid, fd):
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return ""


def holders(inode, pids):
    """[(pid, fd)] of the processes among `pids` that hold socket `inode`."""
    want = f"socket:[{inode}]"
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        out.extend((pid, int(fd)) for fd in fds if fd_target(pid, fd) == want)
    return out


def epoll_mask(pid, epfd, fd):
    """The events epoll instance `epfd` of `pid` watches on `fd` (/proc/PID/fdinfo), or None."""
    try:
        text = Path(f"/proc/{pid}/fdinfo/{epfd}").read_text()
    except OSError:
        return None
    m = re.search(rf"^tfd:\s*{fd}\s+events:\s*([0-9a-f]+)", text, re.M)
    return int(m.group(1), 16) if m else None


def describe_fd(pid, fd, ours=None):
    """'fd 5 (this connection)', 'fd 6 (another connection, from port 40122)', 'fd 3 (a pipe)'."""
    target = fd_target(pid, fd)
    m = re.match(r"socket:\[(\d+)\]", target)
    if not m:
        return f"fd {fd} ({target or 'closed'})"
    if m.group(1) == ours:
        return f"fd {fd} (this connection)"
    ports = tcp_ports(m.group(1))
    if ports is None:
        return f"fd {fd} (a socket)"
    local, remote = ports
    return f"fd {fd} (another connection, from port {remote})" if remote else f"fd {fd} (its listening socket, port {local})"


# --- what a program is doing -----------------------------------------------

def sanitizer_report(text):
    """What an AddressSanitizer/UBSan report says went wrong and where, in a
    line: "AddressSanitizer: stack-buffer-overflow: WRITE of size 1 in talk
    lessons/05-send-recv/server.c:63" (or UBSan's `file:line: runtime error:
    ...`), or "" when `text` has none."""
    lines = text.splitlines()
    ubsan = [l.strip() for l in lines if ": runtime error: " in l]
    start = next((i for i, l in enumerate(lines) if re.search(r"ERROR: \w+Sanitizer:", l)), None)
    if start is None:
        return ubsan[0] if ubsan else ""
    what = re.sub(r"^.*ERROR: ", "", lines[start]).split(" on address ")[0].strip()
    report = lines[start + 1:]
    access = next((l.strip().split(" at 0x")[0] for l in report[:3] if re.match(r"\s*(READ|WRITE) of size", l)), "")
    frames = [l.strip() for l in report if re.match(r"\s*#\d+ 0x[0-9a-f]+ in \w+ \S+\.c:\d+", l)]
    frame = next((f for f in frames if "lessons/" in f), frames[0] if frames else "")
    frame = re.sub(r"^#\d+ 0x[0-9a-f]+ ", "", frame)
    summary = next((l.removeprefix("SUMMARY: ").strip() for l in report if l.startswith("SUMMARY:")), "")
    said = ": ".join(p for p in (what, " ".join(p for p in (access, frame) if p)) if p)
    if not frame and summary:
        said += f" ({summary})"
    return "\n".join(ubsan[:1] + [said])


def command(proc):
    """A lab Proc's command line as the user knows it (the program, not strace)."""
    argv = [str(a) for a in proc.argv]
    if Path(argv[0]).name == "strace" and "-o" in argv:
        argv = argv[argv.index("-o") + 2:]
    return " ".join([Path(argv[0]).name] + argv[1:6])


def name_of(pid):
    """A process's name as the kernel knows it (/proc/PID/comm): "server"."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "the program"


def doing(pid, ours=None):
    """What process `pid` is doing, in words: 'asleep in recvfrom() on fd 4
    (this connection)', 'running', 'stopped', 'exited'."""
    st = _stat(pid)
    if st is None or st[0] in "ZX":
        return "exited"
    if st[0] in "Tt":
        return "stopped"
    call = syscall_of(pid)
    if call is None:
        return "running"
    name, args = call
    where = ""
    if name in READS | WRITES | {"accept", "accept4", "connect"}:
        where = " on " + describe_fd(pid, args[0], ours)
    elif name.startswith("epoll"):
        where = f" (epoll fd {args[0]})"
    return f"asleep in {name}(){where}"


def state_of(proc):
    """A line or two on a lab Proc for a failure message: the sanitizer's
    report when it has one, else what it is doing ("" once it has ended)."""
    said = sanitizer_report(proc.stderr)
    if said:
        return "the sanitizer reported:\n" + "\n".join("    " + l for l in said.splitlines()) + "\n"
    if proc.popen.poll() is not None:
        return ""
    pid = proc.pid
    if Path(proc.argv[0]).name == "strace":
        pid = (family([pid])[1:] or [pid])[0]
    return f"it is {doing(pid)}\n"


def stderr_tail(text, n=6):
    lines = [l for l in text.splitlines() if l.strip()]
    return "\n".join("    " + l[:300] for l in lines[-n:])


def report_programs(procs, ours=None):
    """Every program the test started: how it ended, or what it is doing
    (and its children: a forked server's), with a sanitizer's report or its
    last lines on stderr."""
    out = []
    mine = {p.pid for p in procs}
    for p in procs:
        rc = p.popen.poll()
        name = command(p)
        if rc is not None:
            how = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
            out.append(f"  {name}: ended ({how})")
        else:
            out.append(f"  {name}: {doing(p.pid, ours)}")
            kids = [k for k in family([p.pid])[1:] if k not in mine]
            if Path(p.argv[0]).name == "strace" and kids:
                out[-1] = f"  {name}: {doing(kids[0], ours)}"     # strace's child is the program
                kids = kids[1:]
            out.extend(f"    its child {k}: {doing(k, ours)}" for k in kids[:KIDS_SHOWN])
            if len(kids) > KIDS_SHOWN:
                out.append(f"    and {len(kids) - KIDS_SHOWN} more children")
        san = sanitizer_report(p.stderr)
        if san:
            out.append("  the sanitizer reported:\n" + "\n".join("    " + l for l in san.splitlines()))
        elif p.stderr.strip():
            out.append("  its last lines on stderr:\n" + stderr_tail(p.stderr))
    # Many programs alike (twenty clients that all ended well): one line.
    lines = []
    for line in out:
        if lines and lines[-1][0] == line:
            lines[-1][1] += 1
        else:
            lines.append([line, 1])
    return "\n".join(line if n == 1 else f"{line} (x{n})" for line, n in lines)


class Stillness:
    """Whether a program and its children sit still: every one asleep in a
    socket call, none using CPU, for STALL seconds. Such a program does
    nothing more until something reaches it (a wait on it can stop)."""

    def __init__(self, proc):
        self.proc = proc
        self.last = None
        self.since = time.monotonic()

    def still(self, *also):
        """Sample now; `also`: more values that must not change (output seen)."""
        snapshot = [also]
        for pid in family([self.proc.pid]):
            st, call = _stat(pid), syscall_of(pid)
            if st is None or st[0] in "ZX":
                continue
            if st[0] not in "SD" or call is None or call[0] not in SOCKET_WAITS:
                snapshot = None     # running, stopped, or asleep on a timer
                break
            snapshot.append((pid, round(st[1], 2), call[0]))
        now = time.monotonic()
        if snapshot is None or snapshot != self.last:
            self.last, self.since = snapshot, now
            return False
        return now - self.since >= STALL


# --- one connection, watched -----------------------------------------------

class Watch:
    """The program at the other end of `sock`, watched while a test reads from it."""

    def __init__(self, sock, procs):
        self.procs = procs
        try:
            self.local, self.remote = sock.getsockname()[1], sock.getpeername()[1]
        except OSError:
            self.local = self.remote = None
        self.inode = None           # the program's end of the connection ("0": not accepted yet)
        self.holders = []           # [(pid, fd)] holding it, or the listening socket while queued
        self.looked = 0.0           # when holders were last looked for
        self.last = None
        self.since = None

    def peer(self):
        """/proc/net/tcp's row of the program's end: (state, unacked, unread, inode) or None."""
        return tcp_row(self.remote, self.local) if self.local else None

    @property
    def queued(self):
        """Whether the connection waits in the accept queue (no process holds it yet)."""
        return self.inode == "0"

    def find_holders(self, row):
        """Who holds the program's end, once its inode is known or changes
        (accept() gives a queued connection its inode); while it is queued,
        who holds the listening socket. Looked for at most twice a second."""
        now = time.monotonic()
        if row[3] == self.inode and (self.holders or now - self.looked < 0.5):
            return self.holders
        self.inode, self.looked = row[3], now
        inode = row[3]
        if self.queued:
            inode = next((f[9] for f in labharness._tcp_table_rows() if labharness._port(f[1]) == self.remote
                          and f[3] == labharness.TCP_LISTEN), None)
        self.holders = holders(inode, family([p.pid for p in self.procs])) if inode else []
        return self.holders

    def sample(self, got):
        """A snapshot of everything that would move if the program did
        anything, and why it is stuck if it stays so: (snapshot, why) or None.
        why: "unread" (our bytes sit unread while it sleeps), "deadlock" (it
        waits to read this connection, and nothing is on its way to it),
        "queued" (it sleeps and never accepts this connection)."""
        peer, ours = self.peer(), tcp_row(self.local, self.remote) if self.local else None
        if peer is None or ours is None or not self.find_holders(peer):
            return None
        _, peer_unacked, peer_unread, _ = peer
        procs = []
        for pid, fd in self.holders:
            st, call = _stat(pid), syscall_of(pid)
            if st is None or st[0] not in "SD" or call is None or call[0] not in SOCKET_WAITS:
                return None         # running, stopped, gone, or asleep on a timer
            procs.append((pid, fd, round(st[1], 2), call[0], call[1][0]))
        snapshot = (got, self.inode, peer_unacked, peer_unread, ours[1], tuple(procs))
        if self.queued:
            return snapshot, "queued"
        if peer_unacked:
            return None             # bytes on their way to us
        if peer_unread:
            return snapshot, "unread"
        reading_here = all(call in READS and arg0 == fd for _, fd, _, call, arg0 in procs)
        if ours[1] == 0 and reading_here:
            return snapshot, "deadlock"
        return None

    def stuck(self, got):
        """Whether the program has sat still for STALL seconds waiting for
        nothing: the reason (see sample()) or None."""
        s = self.sample(got)
        now = time.monotonic()
        if s is None or s[0] != self.last:
            self.last, self.since = (s[0] if s else None), now
            return None
        return s[1] if now - self.since >= STALL else None

    def program(self):
        return name_of(self.holders[0][0]) if self.holders else "the program"

    def explain(self, data, want, waited, stuck, hint):
        """The failure message: the test's hint (the likely mistake) first,
        then what happened, then what /proc and the program's stderr show."""
        prog = self.program()
        got = len(data)
        shown = repr(bytes(data[:24])) + ("..." if got > 24 else "")
        if want is None:
            head = f"expected {prog} to close the connection; waited {waited:.1f} s"
            head += f" (it sent {got} bytes: {shown})" if got else ""
        elif got:
            head = f"expected {want} bytes from {prog}; it sent {got} ({shown}) and then nothing for {waited:.1f} s"
        else:
            head = f"expected {want} bytes from {prog}; it sent nothing in {waited:.1f} s"
        why = self.why(stuck, got, want, guess=not hint)
        lines = [hint] if hint else []
        lines.append(head + (f": {why}" if why else ""))
        peer = self.peer()
        if peer and not self.queued:
            lines.append(f"  its end of this connection: {peer[2]} bytes it has not read, "
                         f"{peer[1]} bytes sent and not yet acknowledged")
        elif not peer and self.local:
            lines.append("  its end of this connection is gone (closed)")
        lines.append(report_programs(self.procs, self.inode))
        return "\n".join(lines)

    def why(self, stuck, got, want, guess=True):
        """The likely mistake, from what the program sleeps in (with `guess`,
        also when the test gave no hint of its own)."""
        if not self.holders:
            return ""
        pid, fd = self.holders[0]
        call = syscall_of(pid)
        if call is None:
            return "" if _stat(pid) is None else "it is running, not waiting: a busy loop?"
        name, args = call
        if self.queued:
            said = (f"it never accepted this connection, which waits in the accept queue of port "
                    f"{self.remote}, while it sleeps in {name}()")
            if name.startswith("epoll"):
                mask = epoll_mask(pid, args[0], fd)
                if mask is not None and mask & EPOLLET:
                    said += (f"; its listening socket (fd {fd}) is registered edge-triggered (EPOLLET), "
                             f"reported once for clients arriving together: accept() until it fails "
                             f"with EAGAIN")
            return said
        peer = self.peer()
        unread = peer[2] if peer else 0
        if stuck == "deadlock" or (name in READS and args[0] == fd and not unread):
            if got and want and guess:
                return (f"it waits in {name}() for more input on this connection, as if what it sent were "
                        f"complete: a short send() whose rest was never sent?")
            if got and want:
                return f"it waits in {name}() for more input on this connection, as if it had answered"
            return f"it waits in {name}() for more input on this connection, and so do we"
        if unread and name in READS | WRITES and args[0] != fd:
            what = "reading" if name in READS else "sending to"
            return (f"it is blocked {what} {describe_fd(pid, args[0], self.inode)} in {name}() while "
                    f"{unread} bytes from us sit unread: a blocking socket lets one client stop every "
                    f"other (make each client socket non-blocking, O_NONBLOCK, and wait in poll/epoll)")
        if unread and name in ("accept", "accept4"):
            return (f"it is blocked in {name}() on {describe_fd(pid, args[0], self.inode)}, waiting for "
                    f"another client, while {unread} bytes from us sit unread: a blocking listening "
                    f"socket stops every connected client (make it non-blocking, and accept() until "
                    f"it fails with EAGAIN)")
        if unread and name.startswith("epoll"):
            mask = epoll_mask(pid, args[0], fd)
            if mask is not None and mask & EPOLLET:
                return (f"it waits in {name}() while {unread} bytes from us sit unread in fd {fd}, "
                        f"registered edge-triggered (EPOLLET): epoll reports new bytes once, so each "
                        f"time the socket is reported it must be read until recv() fails with EAGAIN")
            if mask is not None and not mask & EPOLLIN:
                return (f"it waits in {name}() while {unread} bytes from us sit unread, and it no "
                        f"longer asks epoll for EPOLLIN on fd {fd}")
            if mask is None:
                return f"it waits in {name}() while {unread} bytes from us sit unread, and fd {fd} is not in its epoll set"
        if unread:
            return f"it waits in {name}() while {unread} bytes from us sit unread in its socket"
        return f"it waits in {name}()"


def receive(procs, sock, want, timeout, hint=""):
    """Read `want` bytes from sock (None: until the peer closes); fewer only
    if the peer closes. At the deadline, or when the program at the other end
    is stuck (Watch.stuck), fail with what happened (AssertionError)."""
    __tracebackhide__ = True        # pytest shows the message, not this loop
    watch = Watch(sock, procs)
    deadline = time.monotonic() + timeout
    data = bytearray()
    try:
        while want is None or len(data) < want:
            sock.settimeout(max(min(POLL, deadline - time.monotonic()), 0.001))
            try:
                chunk = sock.recv(CHUNK if want is None else min(CHUNK, want - len(data)))
            except socket.timeout:
                stuck = watch.stuck(len(data))
                if stuck or time.monotonic() >= deadline:
                    waited = timeout - max(deadline - time.monotonic(), 0)
                    raise AssertionError(watch.explain(data, want, waited, stuck, hint)) from None
                continue
            if not chunk:
                break
            data += chunk
    finally:
        sock.settimeout(timeout)
    return bytes(data)
