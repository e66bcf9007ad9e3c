"""tools/sysfault: faults made at the syscall boundary, from outside the program.

Each test compiles a small program that talks to itself over a socketpair
(or a lesson program), runs it under build/tools/sysfault and checks what
the kernel really did - the bytes that arrived, the results the program
saw - and what sysfault reported. The point is that the way a call is made
does not matter: a raw syscall(), writev(), sendmsg(), a forked child or a
clone(CLONE_UNTRACED) child are cut like send().
"""
import os
import re
import signal
import subprocess

import pytest

from labharness import BUILD, fault_env, sysfault_path, wait_until

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="sysfault injects on x86_64 only")

# Each program prints one line of results (`name=value ...`) and exits 0.
PROGRAMS = {
    "raw": r'''
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
    int sv[2];
    char buf[64];
    long r[3], got;

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    for (int i = 0; i < 3; i++)
        r[i] = syscall(SYS_sendto, sv[0], "hello", 5, 0, NULL, 0);
    got = syscall(SYS_recvfrom, sv[1], buf, sizeof buf, 0, NULL, NULL);
    printf("sent=%ld,%ld,%ld got=%ld\n", r[0], r[1], r[2], got);
    return 0;
}
''',
    "vectors": r'''
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void)
{
    int sv[2];
    char a[] = "ab", b[] = "cdef", buf[64];
    struct iovec iov[2] = {{a, 2}, {b, 4}};
    struct msghdr m = {0};
    long w, s, r;

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    w = writev(sv[0], iov, 2);
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    s = sendmsg(sv[0], &m, 0);
    r = read(sv[1], buf, sizeof buf);
    printf("writev=%ld sendmsg=%ld read=%ld iov1=%zu iovlen=%zu stdout=%ld\n", w, s, r, iov[1].iov_len,
           (size_t)m.msg_iovlen, (long)write(1, "", 0));
    return 0;
}
''',
    "children": r'''
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int sv[2];
static int child(void *arg)
{
    (void)arg;
    _exit(send(sv[0], "0123456789", 10, 0) == 10 ? 0 : 1);
}
int main(void)
{
    static char stack[1 << 16];
    int forked, untraced;
    pid_t kid;

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    kid = fork();
    if (kid == 0)
        _exit(send(sv[0], "0123456789", 10, 0) == 10 ? 0 : 1);
    waitpid(kid, &forked, 0);
    kid = clone(child, stack + sizeof stack, CLONE_UNTRACED | SIGCHLD, NULL);
    waitpid(kid, &untraced, 0);
    printf("forked_whole=%d untraced_whole=%d\n", WEXITSTATUS(forked) == 0, WEXITSTATUS(untraced) == 0);
    return 0;
}
''',
    "escapes": r'''
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    char link[64], target[512];
    long r;
    int seen = 0;
    ssize_t n;

    (void)argc;
    while ((e = readdir(d)) != NULL) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            seen |= strcmp(target, argv[1]) == 0;
        }
    }
    closedir(d);
    r = syscall(SYS_io_uring_setup, 8, NULL);
    printf("report_fd=%d io_uring=%ld/%s\n", seen, r, r == -1 && errno == ENOSYS ? "ENOSYS" : "other");
    return 0;
}
''',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The test programs, compiled once: {name: path}."""
    if not sysfault_path().exists():
        pytest.fail(f"{sysfault_path()} is missing: run 'make' first")
    d = tmp_path_factory.mktemp("sysfault-programs")
    out = {}
    for name, source in PROGRAMS.items():
        (d / f"{name}.c").write_text(source)
        subprocess.run(["cc", "-O2", "-o", str(d / name), str(d / f"{name}.c")], check=True)
        out[name] = d / name
    return out


def sysfault(spec, *argv, report=None, timeout=20):
    cmd = [sysfault_path(), *(["-o", report] if report else []), spec, "--", *argv]
    return subprocess.run([str(a) for a in cmd], capture_output=True, text=True, timeout=timeout)


def fields(stdout):
    return dict(re.findall(r"(\w+)=(\S+)", stdout))


def test_raw_syscalls_are_cut_and_failed_and_each_injection_reported(built, tmp_path):
    report = tmp_path / "report"
    r = sysfault("send:short=1;send:eintr=every3;recv:short=2", built["raw"], report=report)
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout) == {"sent": "1,1,-1", "got": "2"}, r.stdout
    lines = report.read_text().splitlines()
    assert re.fullmatch(r"pid \d+", lines[0]), lines
    pid = lines[0].split()[1]
    assert lines[1:] == [f"{pid} send sendto(3) short write 5->1", f"{pid} send sendto(3) short write 5->1",
                         f"{pid} send sendto(3) EINTR", f"{pid} recv recvfrom(4) short read 64->2"], lines


def test_writev_and_sendmsg_are_cut_and_the_program_s_vectors_given_back(built, tmp_path):
    """A cut moves fewer bytes; the program's iovec and msghdr are as it left them;
    a write() to stdout (not a socket) is not touched."""
    r = sysfault("send:short=3", built["vectors"], report=tmp_path / "report")
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout) == {"writev": "3", "sendmsg": "3", "read": "6", "iov1": "4", "iovlen": "2",
                                "stdout": "0"}, r.stdout
    assert [l.split(" ", 1)[1] for l in (tmp_path / "report").read_text().splitlines()[1:]] == [
        "send writev(3) short write 6->3", "send sendmsg(3) short write 6->3"]


def test_forked_and_clone_untraced_children_are_cut_too(built):
    r = sysfault("send:short=4", built["children"])
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout) == {"forked_whole": "0", "untraced_whole": "0"}, r.stdout


def test_the_report_is_out_of_the_program_s_reach_and_io_uring_is_refused(built, tmp_path):
    report = tmp_path / "report"
    r = sysfault("send:eintr", built["escapes"], report, report=report)
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout) == {"report_fd": "0", "io_uring": "-1/ENOSYS"}, r.stdout


def test_the_program_s_exit_status_and_signal_death_come_through(built):
    assert sysfault("send:eintr", "sh", "-c", "exit 7").returncode == 7
    assert sysfault("send:eintr", "sh", "-c", "kill -TERM $$").returncode == -signal.SIGTERM
    assert sysfault("send:eintr", "/nonexistent/program").returncode == 127


@pytest.mark.parametrize("spec, why", [
    ("sned:short=1", "unknown call"), ("bind:short=4", "short counts exist only for send and recv"),
    ("send:eintr=every0", "needs a whole number"), ("send:enoent", "unknown mode"), (";", "no rules")])
def test_a_bad_spec_stops_sysfault_with_125_and_says_why(spec, why):
    r = sysfault(spec, "true")
    assert r.returncode == 125 and why in r.stderr and "syntax:" in r.stderr, r.stderr


def test_a_lesson_server_under_sysfault_stops_and_continues_and_takes_sigterm(lab):
    """Job control and signals reach the traced program: SIGSTOP stops it (the
    kernel still queues a client), SIGCONT resumes it, SIGTERM ends it as it
    would end untraced (exit 0); the harness's pid is the program's."""
    server = lab.server("06-close", "-k", "-q", env=fault_env("send:short=1"))
    assert server.pid != server.popen.pid
    assert open(f"/proc/{server.pid}/comm").read().strip() == "server"
    server.signal(signal.SIGSTOP)           # stopped: "t" while a tracer holds it
    assert wait_until(lambda: open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()[0] in "tT")
    sock = lab.connect(server.port)
    sock.sendall(b"hello")
    sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        sock.recv(2)                        # nobody answers while it is stopped
    server.signal(signal.SIGCONT)
    assert lab.recv_exactly(sock, 2) == b"ok"
    assert [f["what"] for f in server.injected("send")] == ["short write 2->1"]
    sock.close()
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, server.stderr
