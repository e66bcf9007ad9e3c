"""The interposer (src/interpose/): socket calls traced from outside the program.

The lessons call plain socket(), bind(), send(); the library wraps them. The
same code, preloaded (build/libsocketlab.so, tools/trace), traces programs the
kit did not build: the seed's demo5 and demo6, and small C programs compiled
here the way a student's compiler would (-O2 -D_FORTIFY_SOURCE=2, vectored
I/O). Each test reads the --json trace, which the traced program cannot
print itself, or what strace saw.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import textwrap
from pathlib import Path

import pytest

from labharness import (BUILD, ROOT, base_env, free_port, json_lines, listen_state_seen, seed_message,
                        wait_blocked_in, wait_until)

TRACE = ROOT / "tools" / "trace"
SEED = ROOT / "tests" / "seed"

# A TCP client written the way a student might, with the calls a plain
# recv() turns into under _FORTIFY_SOURCE (__recv_chk, __read_chk) and the
# vectored calls (writev, sendmsg, readv, recvmsg).
FORTIFIED_CLIENT = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    char buf[64], b1[3], b2[64];
    struct iovec out[2] = {{"he", 2}, {"llo", 3}}, in[2] = {{b1, sizeof b1}, {b2, sizeof b2}};
    struct msghdr m;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t want = sizeof buf;
    ssize_t n;

    __asm__ volatile("" : "+r"(want));  /* a size the compiler cannot see: __*_chk */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd == -1 || connect(fd, (struct sockaddr *)&a, sizeof a) == -1)
        return perror("connect"), 1;
    if (send(fd, "ping", 4, 0) != 4)
        return 1;
    n = recv(fd, buf, want, MSG_WAITALL);             /* -> __recv_chk */
    printf("recv %zd\n", n);
    if (writev(fd, out, 2) == -1)
        return 1;
    n = read(fd, buf, want);                          /* -> __read_chk */
    printf("read %zd\n", n);
    memset(&m, 0, sizeof m);
    m.msg_iov = out;
    m.msg_iovlen = 2;
    if (sendmsg(fd, &m, 0) == -1)
        return 1;
    n = readv(fd, in, 2);
    printf("readv %zd\n", n);
    m.msg_iov = in;
    n = recvmsg(fd, &m, 0);
    printf("recvmsg %zd\n", n);
    return close(fd) == -1;
}
"""


@pytest.fixture(scope="module")
def cc_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("interpose")


def compile_c(dir, name, source, *flags):
    src = dir / f"{name}.c"
    src.write_text(textwrap.dedent(source))
    exe = dir / name
    r = subprocess.run(["cc", *flags, "-o", str(exe), str(src)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return exe


def traced(*cmd, json_out=True, env=None, extra=()):
    """argv of cmd under tools/trace."""
    return [str(TRACE), *(["--json"] if json_out else []), *extra, "--", *map(str, cmd)]


def echo_peer(lab, replies):
    """A Python server that answers each recv with the next reply; returns (port, thread-safe list of what came)."""
    listener, port = lab.listen()
    got = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            try:
                for reply in replies:
                    data = conn.recv(4096)
                    got.append(data)
                    if not data:
                        return
                    conn.sendall(reply)
                while conn.recv(4096):
                    pass
            except ConnectionResetError:
                pass        # the client closed with our replies unread: its RST

    import threading
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return port, got, t


def test_fortified_and_vectored_calls_are_traced_and_faulted(lab, cc_dir):
    exe = compile_c(cc_dir, "fortified", FORTIFIED_CLIENT, "-O2", "-D_FORTIFY_SOURCE=2", "-w")
    syms = subprocess.run(["nm", "-D", str(exe)], capture_output=True, text=True).stdout
    assert "__recv_chk" in syms and "__read_chk" in syms, f"the compiler did not fortify:\n{syms}"
    port, got, t = echo_peer(lab, [b"pong", b"12345", b"abcdef", b"xyz"])
    r = lab.run(traced(exe, port), env={"LAB_FAULT": "recv:short=1"})
    t.join(5)
    assert r.returncode == 0, r
    calls = [e for e in json_lines(r.stderr) if "call" in e]
    names = [e["call"] for e in calls]
    for name in ("socket", "connect", "send", "recv", "writev", "read", "sendmsg", "readv", "recvmsg", "close"):
        assert name in names, f"{name}() was not traced: {names}"
    # LAB_FAULT's recv rule reaches the fortified recv/read too: 1 byte each.
    assert "recv 1\nread 1\nreadv 1\nrecvmsg 1\n" == r.stdout, r
    assert all(e.get("injected") == "short read" for e in calls if e["call"] in ("recv", "read", "readv", "recvmsg")), calls
    # The client role was guessed from connect(): steps 1-4 of demo5.
    assert [e["step"] for e in calls if e["call"] in ("socket", "connect", "send", "close")] == [1, 2, 3, 4], calls
    assert got[0] == b"ping", got


def test_fortified_recv_still_checks_the_buffer_size(lab, cc_dir):
    source = r"""
    #include <string.h>
    #include <sys/socket.h>
    int main(void)
    {
        char small[4];
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        size_t n = 64;                 /* larger than the buffer */
        __asm__ volatile("" : "+r"(n));
        return (int)recv(fd, small, n, 0);
    }
    """
    exe = compile_c(cc_dir, "overflow", source, "-O2", "-D_FORTIFY_SOURCE=2", "-w")
    r = lab.run(traced(exe, json_out=False))
    assert r.returncode in (-signal.SIGABRT, 128 + signal.SIGABRT), r     # __chk_fail() aborts


def test_the_seeds_demo5_and_demo6_are_traced_by_tools_trace(lab, cc_dir):
    built = {}
    for name in ("demo5", "demo6"):
        exe = cc_dir / name
        r = subprocess.run(["g++", "-O1", "-w", "-o", str(exe), str(SEED / f"{name}.cpp")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        built[name] = exe
    port = free_port()
    server = lab.start(traced(built["demo6"], port))
    assert listen_state_seen(port), server.stderr
    # demo5 sleeps a second after each of its ten messages: run it under a
    # fault rule that changes nothing but proves the preload is in place.
    client = lab.run(traced(built["demo5"], "127.0.0.1", port), timeout=30)
    assert client.returncode == 0, client
    assert server.wait(10) == 0, server.stderr
    s = [e for e in server.json_trace() if "call" in e]
    c = [e for e in client.stderr and json_lines(client.stderr) if "call" in e]
    assert [e["call"] for e in s[:4]] == ["socket", "bind", "listen", "accept"], s[:4]
    assert [e["step"] for e in s[:4]] == [1, 2, 3, 4], s[:4]
    assert s[3]["state"] == "ESTABLISHED"
    recvs = [e for e in s if e["call"] == "recv" and e["ret"] > 0]
    assert len(recvs) == 10 and all(e["step"] == 5 for e in recvs), recvs
    assert seed_message(1).decode() in recvs[0]["text"], recvs[0]
    assert [e["call"] for e in c[:2]] == ["socket", "connect"] and c[1]["step"] == 2, c[:2]
    assert sum(1 for e in c if e["call"] == "send") == 10, c
    # Both programs name themselves by their roles in the JSON, on one clock.
    assert {e["prog"] for e in s} >= {"server"} and {e["prog"] for e in c} >= {"client"}
    assert s[3]["ts"] > c[1]["start"] - 1, (s[3], c[1])


def test_a_kit_program_under_tools_trace_is_traced_once(lab):
    port = free_port()
    server = lab.start(traced(BUILD / "06-close" / "server", port))
    server.wait_for(r"^listening on")
    r = lab.run_client("06-close", "-q", "-n", "1", "-i", "0", port=port)
    assert r.returncode == 0, r
    assert server.wait() == 0
    trace = server.json_trace()                       # LAB_TRACE=json reaches the kit's own copy
    assert sum(1 for e in trace if e.get("call") == "bind") == 1, trace
    assert sum(1 for e in trace if e.get("call") == "listen") == 1, trace


def test_json_events_carry_pid_times_and_the_socket(lab):
    server = lab.server("06-close", "--json")
    r = lab.run_client("06-close", "--json", "-n", "2", "-i", "0", port=server.port)
    assert r.returncode == 0, r
    assert server.wait() == 0
    for prog, events in (("server", server.json_trace()), ("client", json_lines(r.stderr))):
        calls = [e for e in events if "call" in e]
        assert calls and all(e["prog"] == prog for e in events), events
        assert all(e["start"] <= e["ts"] for e in calls), calls
        assert [e["ts"] for e in events] == sorted(e["ts"] for e in events), events
        sends = [e for e in calls if e["call"] == "send"]
        assert sends and all(isinstance(e["sock"], int) and e["sock"] >= 3 for e in sends), sends
    accept = next(e for e in server.json_trace() if e.get("call") == "accept")
    assert {"unread", "unacked", "unsent"} <= accept.keys(), accept


def test_the_traces_own_calls_never_show_but_strace_sees_them(lab, tmp_path):
    out = tmp_path / "strace"
    server = lab.server("03-listen", strace=out)
    # Lesson 03's server exits as soon as the handshake is done, which may
    # reset us before Python has seen connect() succeed: either is fine.
    with socket.socket() as sock:
        sock.settimeout(10)
        sock.connect_ex(("127.0.0.1", server.port))
        assert server.wait() == 0
    trace = server.stderr
    assert "getsockopt" not in trace and "ioctl" not in trace, trace
    assert "TCP_INFO" in "".join(p.read_text() for p in tmp_path.glob("strace*")), \
        "strace should show the trace's own getsockopt(TCP_INFO)"


def test_quiet_programs_make_no_extra_system_calls(lab, tmp_path):
    out = tmp_path / "strace"
    server = lab.server("06-close", "-q", strace=out)
    r = lab.run_client("06-close", "-q", "-n", "3", "-i", "0", port=server.port)
    assert r.returncode == 0 and server.wait() == 0, r
    text = "".join(p.read_text() for p in tmp_path.glob("strace*"))
    assert "TCP_INFO" not in text and "FIONREAD" not in text, "-q still asked the kernel for its view"


def test_trace_file_takes_the_trace_off_stderr(lab, tmp_path):
    file = tmp_path / "trace.jsonl"
    server = lab.server("06-close", "--json", env={"LAB_TRACE_FILE": str(file)})
    r = lab.run_client("06-close", "-q", "-n", "1", "-i", "0", port=server.port)
    assert r.returncode == 0 and server.wait() == 0, r
    assert "{" not in server.stderr, server.stderr
    events = json_lines(file.read_text())
    assert [e["call"] for e in events if "call" in e][:3] == ["socket", "setsockopt", "bind"], events[:3]


@pytest.mark.parametrize("data, shown", [
    (b"a\xc2\x9bb", r"a\xc2\x9bb"),           # C1 CSI: a terminal control, escaped
    (b"x\xff\xfey", r"x\xff\xfey"),            # not UTF-8 at all
    (b"\xe4\xb8", r"\xe4\xb8"),                # a character cut in half
    (b"\xed\xa0\x80", r"\xed\xa0\x80"),        # a UTF-16 surrogate, invalid in UTF-8
    ("中文ok".encode(), "中文ok"),              # valid UTF-8 passes as it is
    (b"tab\there", r"tab\x09here"),
])
def test_data_lines_escape_what_a_terminal_would_obey(lab, data, shown):
    server = lab.server("06-close", "-q")
    with lab.connect(server.port) as sock:
        sock.sendall(data)
        assert lab.recv_exactly(sock, 2) == b"ok"
    assert server.wait() == 0
    assert f"received: {shown}\n" in server.stdout, server.stdout


def test_tools_trace_refuses_a_bad_command_line_in_one_line(lab):
    r = lab.run([str(TRACE), "--role", "peer", "--", "true"])
    assert r.returncode == 2 and "peer" in r.stderr, r
    r = lab.run([str(TRACE), "--", "no-such-program-here"])
    assert r.returncode == 127 and r.stderr.count("\n") == 1 and "no-such-program-here" in r.stderr, r
    r = lab.run([str(TRACE), "--no-such-option", "--", "true"])
    assert r.returncode == 2 and "--no-such-option" in r.stderr, r


def test_tools_trace_help_goes_to_stdout_and_its_examples_exist(lab):
    r = lab.run([str(TRACE), "--help"])
    assert r.returncode == 0 and r.stderr == "" and "usage: tools/trace" in r.stdout, r
    examples = [l.split("e.g.", 1)[-1].strip() for l in r.stdout.splitlines() if "tools/trace -- " in l]
    assert examples, r.stdout
    # Each example's program is one `make` builds, or an ordinary tool.
    build = subprocess.run(["make", "seed"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    for example in examples:
        prog = example.split(" -- ", 1)[1].split()[0]
        assert (ROOT / prog).exists() or shutil.which(prog), f"{example}: no {prog}"


def peer(lab, replies=(b"ok",)):
    """A Python server: answers each piece it receives with the next reply."""
    port, got, thread = echo_peer(lab, list(replies))
    return port, got, thread


def test_the_seeds_demo6_as_built_by_make_seed_is_traced(lab):
    build = subprocess.run(["make", "seed"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    port = free_port()
    server = lab.start(traced(ROOT / "build" / "seed" / "demo6", port))
    assert listen_state_seen(port), server.stderr
    with lab.connect(port) as sock:
        sock.sendall(seed_message(1))
        assert lab.recv_exactly(sock, 2) == b"ok"
    assert server.wait() == 0, server.stderr
    names = [e["call"] for e in server.json_trace() if "call" in e]
    assert names[:4] == ["socket", "bind", "listen", "accept"], names


@pytest.mark.parametrize("tool", ["nc", "socat", "python3"])
def test_other_peoples_programs_are_traced_once_per_call(lab, tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")
    port, got, thread = peer(lab)
    argv = {"nc": ["nc", "-N", "127.0.0.1", str(port)],
            "socat": ["socat", "-", f"TCP:127.0.0.1:{port}"],
            "python3": ["python3", "-c", "import socket, sys; c = socket.create_connection(('127.0.0.1', "
                        f"{port})); c.sendall(b'hello\\n'); c.shutdown(socket.SHUT_WR); "
                        "sys.stdout.write(c.recv(10).decode())"]}[tool]
    p = subprocess.run([str(TRACE), "--json", "--", *argv], input=b"hello\n", capture_output=True,
                       timeout=20, env=base_env({"ASAN_OPTIONS": "detect_leaks=0"}))
    thread.join(5)
    assert p.returncode == 0 and p.stdout == b"ok", p
    assert got[0] == b"hello\n", got
    events = [e for e in json_lines(p.stderr.decode()) if "call" in e]
    connects = [e for e in events if e["call"] == "connect"]
    assert len(connects) == 1 and connects[0]["step"] == 2, events
    # The client's steps, and nothing on any fd but the TCP socket.
    assert {e.get("sock") for e in events if e.get("sock", -1) >= 0} == {connects[0]["sock"]}, events
    assert all(e["step"] > 0 for e in events if e["call"] in ("connect", "close")), events


def test_all_shows_a_programs_unix_sockets_without_a_seed_step(lab):
    if not shutil.which("socat"):
        pytest.skip("socat is not installed")
    port, got, thread = peer(lab)
    p = subprocess.run([str(TRACE), "--json", "--all", "--", "socat", "-", f"TCP:127.0.0.1:{port}"],
                       input=b"hi\n", capture_output=True, timeout=20,
                       env=base_env({"ASAN_OPTIONS": "detect_leaks=0"}))
    thread.join(5)
    assert p.returncode == 0 and p.stdout == b"ok", p
    events = [e for e in json_lines(p.stderr.decode()) if "call" in e]
    pair = [e for e in events if e["call"] == "socketpair"]
    assert pair and all(e["step"] == 0 and e["label"] == "AF_UNIX socket" for e in pair), pair


def write_calls(pid):
    """How many write-family system calls a process has made (/proc/PID/io's
    syscw: write, writev, not send)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError(f"no syscw in /proc/{pid}/io")


def test_an_epoll_server_writes_its_data_lines_once_per_round_not_per_message(lab):
    """Untraced, the library flushes stdout before a call that may wait, so data
    lines are seen while a program waits. A non-blocking socket's recv() never
    waits: twenty messages that one epoll_wait() reports together must go out
    in one write(2) at the next wait, not one per message."""
    server = lab.server("10-epoll", "-q")
    socks = [lab.connect(server.port) for _ in range(20)]
    for n, s in enumerate(socks):              # each connection accepted and answered once
        s.sendall(struct.pack("!I", 5) + b"hello")
        assert lab.recv_exactly(s, 6) == b"\0\0\0\2ok", n
    wait_blocked_in(server, "epoll_wait")
    before = write_calls(server.pid)
    os.kill(server.pid, signal.SIGSTOP)        # the twenty arrive while it sleeps
    try:
        for n, s in enumerate(socks):
            s.sendall(struct.pack("!I", 6) + f"again{n % 10}".encode())
    finally:
        os.kill(server.pid, signal.SIGCONT)
    for n, s in enumerate(socks):
        assert lab.recv_exactly(s, 6) == b"\0\0\0\2ok", n
    assert wait_until(lambda: server.stdout.count("received: again") == 20), server.stdout
    wait_blocked_in(server, "epoll_wait")
    assert write_calls(server.pid) - before <= 2, (
        f"{write_calls(server.pid) - before} writes for one round of twenty messages")
