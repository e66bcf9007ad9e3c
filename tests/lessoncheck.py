"""lessoncheck - judge a lesson program by what it does, not by what it prints.

The lesson tests look only at what the grader sees from outside the
student's process: the system calls strace sees (with -yy, strace asks the
kernel what each fd is: `3<TCP:[0.0.0.0:5005]>`), the kernel's tables
(/proc/net/tcp, /proc/PID), and the bytes on the wire. The kit's own trace
(`--json`, the text on stderr) is printed by code inside the student's
process, so a program could print it without making the calls: a test may
show it in its message (json_describe), never score from it. These helpers
read strace's log in a form that tolerates equivalent code:
`socket(AF_INET, SOCK_STREAM, 0)` and
`socket(PF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP)` are the same
step; `accept4` is `accept`; `sendto`/`write` on a socket are `send`.

    calls = strace_calls(log)                  # [Call(name, args, ret, errno, note)]
    assert api_names(calls) == ["socket", "bind"]
    socket_view(calls[0].note)                 # {"local": None, "peer": None}: no address yet
"""
import os
import re
import shutil
from dataclasses import dataclass

import pytest

from labharness import ADDR_RE, DEFAULT_WAIT, Result, json_lines, parse_strace, program, strace_log_arg

# The syscall (strace) or libc call (--json trace) -> the lesson's name for it.
API_NAMES = {
    "socket": "socket", "bind": "bind", "listen": "listen", "accept": "accept",
    "accept4": "accept", "connect": "connect", "send": "send", "sendto": "send",
    "sendmsg": "send", "write": "send", "recv": "recv", "recvfrom": "recv",
    "recvmsg": "recv", "read": "recv", "shutdown": "shutdown", "close": "close",
}
# The calls whose order a lesson test compares (close and setsockopt are
# checked on their own: programs differ in when they close what).
ORDERED = ("socket", "bind", "listen", "accept", "connect", "send", "recv", "shutdown")


@dataclass
class Call:
    name: str           # the lesson's name: socket, bind, ..., send, recv, close
    raw: str            # the syscall as strace names it (accept4, recvfrom)
    args: str           # strace's argument text
    ret: int            # the result (-1 on failure; None when strace saw none)
    errno: str          # EADDRINUSE, ... or "" on success
    note: str = ""      # what the kernel said the fd is (strace -yy): the new fd's
                        # for socket()/accept(), the first argument's otherwise

    def arg(self, i):
        """The i-th top-level argument as text (braces and brackets kept whole)."""
        return split_args(self.args)[i]


def split_args(text):
    """strace's argument text split at top-level commas."""
    out, depth, cur, quoted = [], 0, "", False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        if not quoted:
            if ch in "{[(":
                depth += 1
            elif ch in "}])":
                depth -= 1
            elif ch == "," and depth == 0:
                out.append(cur.strip())
                cur = ""
                continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


# strace -yy names what each fd is (3<TCP:[127.0.0.1:5005->...]>), so read(),
# write() and close() count only on sockets: a student may use them for I/O.
STRACE = ["strace", "-f", "-qq", "-yy", "-e", "trace=network,close,read,write"]
FD_NOTE_RE = re.compile(r"(\d+)<((?:[^<>\[\]]|\[[^\]]*\])*)>")
SOCKET_NOTE_RE = re.compile(r"^(TCP|TCPv6|UDP|UDPv6|UNIX|socket):")


def start_strace(lab, argv, log, env=None):
    """Start argv under strace (see STRACE), logging to `log`; returns the Proc."""
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (run: make test, which installs it)")
    # LeakSanitizer cannot run under ptrace (SAN=1 builds): leaks are checked elsewhere.
    asan = (env or {}).get("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", ""))
    env = {**(env or {}), "ASAN_OPTIONS": f"{asan}:detect_leaks=0".lstrip(":")}
    return lab.start(STRACE + ["-o", strace_log_arg(log)] + [str(a) for a in argv], env=env)


def run_strace(lab, argv, log, env=None, timeout=DEFAULT_WAIT):
    """Run argv under strace to its end; returns a Result (a hang fails the test)."""
    p = start_strace(lab, argv, log, env=env)
    return Result(p, p.wait(timeout))


def server_strace(lab, lesson, *args, log, port=0, env=None):
    """A lesson's server under strace, its port read from `listening on ADDR:PORT`."""
    p = start_strace(lab, [program(lesson, "server"), *args, str(port)], log, env=env)
    m = p.wait_for(ADDR_RE.pattern)
    p.port, p.address = int(m.group(3)), m.group(2)
    return p


def client_strace(lab, lesson, *args, log, port, host="127.0.0.1", env=None):
    """A lesson's client under strace, against host:port; returns the running Proc."""
    return start_strace(lab, [program(lesson, "client"), *args, host, str(port)], log, env=env)


def strace_calls(log, sockets_only=True):
    """The socket API calls of an strace log (STRACE's options), in order, with
    the fd notes of -yy removed from the arguments. read(), write() and close()
    count only on sockets (with sockets_only; without -yy, close() counts for
    fds a socket()/accept() returned), so libc's own file I/O is dropped."""
    calls, open_socks = [], set()
    for name, args, result in parse_strace(log):
        first = FD_NOTE_RE.match(args)
        on_socket = bool(first and SOCKET_NOTE_RE.match(first.group(2)))
        made = FD_NOTE_RE.match(result)
        note = made.group(2) if made else first.group(2) if first else ""
        args = FD_NOTE_RE.sub(r"\1", args)
        result = FD_NOTE_RE.sub(r"\1", result)
        if name in ("read", "write") and not on_socket:
            continue
        if first and name == "close" and not on_socket:
            continue
        if name not in API_NAMES:
            if name in ("setsockopt", "getsockname", "getpeername", "getsockopt"):
                m = re.match(r"(-?\d+)", result)
                calls.append(Call(name, name, args, int(m.group(1)) if m else None, errno_of(result), note))
            continue
        m = re.match(r"(-?\d+)", result)
        ret = int(m.group(1)) if m else None
        call = Call(API_NAMES[name], name, args, ret, errno_of(result), note)
        if call.name in ("socket", "accept") and ret is not None and ret >= 0:
            open_socks.add(ret)
        if call.name == "close":
            fd = int(args.strip()) if args.strip().lstrip("-").isdigit() else None
            if sockets_only and fd not in open_socks:
                continue
            open_socks.discard(fd)
        calls.append(call)
    return calls


def errno_of(result):
    m = re.search(r"\b(E[A-Z0-9]+)\b", result)
    return m.group(1) if m else ""


def api_names(calls):
    """The names of the calls whose order the lessons teach (no close, no setsockopt)."""
    return [c.name for c in calls if c.name in ORDERED]


def named(calls, name):
    return [c for c in calls if c.name == name]


def describe(calls):
    """A short listing of calls for a failure message."""
    return "\n".join(f"  {c.raw}({c.args}) = {c.ret}{' ' + c.errno if c.errno else ''}" for c in calls) or "  (none)"


def is_tcp_socket(call, family="AF_INET"):
    """Whether a strace'd socket() call asks for a TCP socket of `family`:
    SOCK_STREAM (flags such as SOCK_CLOEXEC allowed), protocol 0 or TCP."""
    args = split_args(call.args)
    fam_ok = args[0] in (family, family.replace("AF_", "PF_"))
    type_ok = "SOCK_STREAM" in args[1]
    proto_ok = args[2] in ("0", "IPPROTO_IP", "IPPROTO_TCP", "6")
    return fam_ok and type_ok and proto_ok


def socket_view(note):
    """What the kernel says of a TCP socket fd, from strace -yy's note:
    {"local": "0.0.0.0:5005" or None, "peer": "127.0.0.1:40000" or None}.
    `TCP:[4691128]` (an inode only) is a socket with no address and no
    connection, state CLOSE; `TCP:[a:p]` is bound; `TCP:[a:p->b:q]` is
    connected (`TCPv6:[[::1]:p->[::1]:q]` for IPv6). None when the note is
    not a TCP socket's."""
    proto, _, rest = (note or "").partition(":")
    if proto not in ("TCP", "TCPv6") or not (rest.startswith("[") and rest.endswith("]")):
        return None
    inner = rest[1:-1]
    if inner.isdigit():
        return {"local": None, "peer": None}
    local, _, peer = inner.partition("->")
    return {"local": local or None, "peer": peer or None}


def endpoint_port(text):
    """The port of an -yy endpoint: `127.0.0.1:5005` or `[::1]:5005` -> 5005."""
    return int(text.rsplit(":", 1)[1]) if text and text.rsplit(":", 1)[-1].isdigit() else None


def sockaddr_port(text):
    """The port of a strace'd sockaddr: `{sa_family=AF_INET, sin_port=htons(5005), ...}` -> 5005."""
    m = re.search(r"sin6?_port=htons\((\d+)\)", text)
    return int(m.group(1)) if m else None


def sockaddr_ip(text):
    """The address of a strace'd sockaddr: inet_addr("127.0.0.1") -> 127.0.0.1, or the IPv6 text."""
    m = re.search(r'inet_addr\("([^"]+)"\)', text) or re.search(r'inet_pton\(AF_INET6, "([^"]+)"', text)
    return m.group(1) if m else None


# The interposed trace (--json): what the kit's code inside the program says
# of each socket call. For people reading a failure, never for a score.

def json_calls(stderr):
    """The call events of a --json trace (notes and views without a call skipped),
    each with "name" added: the lesson's name for its call."""
    out = []
    for ev in json_lines(stderr):
        if "call" in ev:
            ev["name"] = API_NAMES.get(ev["call"], ev["call"])
            out.append(ev)
    return out


def json_named(events, name):
    return [e for e in events if e["name"] == name]


def json_describe(events):
    return "\n".join(f"  step {e.get('step')} {e.get('text', e['call'])} = {e.get('ret')}"
                     f"{' ' + e['errno'] if 'errno' in e else ''}"
                     f"{' [' + e['state'] + ']' if 'state' in e else ''}" for e in events) or "  (none)"
