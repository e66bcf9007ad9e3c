"""Lesson 01 (socket): step 1 of the seed's demo6 and nothing more.

The server asks the kernel for a TCP/IPv4 socket and exits 0 without
binding it. The tests judge the calls (strace, and the kernel's view of each fd) and
the exit code, never the text the program prints: any correct socket()
call with a checked result passes.
"""
import pytest

from labharness import program
from lessoncheck import run_strace, api_names, describe, is_tcp_socket, named, socket_view, strace_calls

LESSON = "01-socket"


def run_server(lab, *args, strace=None):
    argv = [program(LESSON, "server"), *args]
    return run_strace(lab, argv, strace) if strace else lab.run(argv)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_server_creates_one_tcp_ipv4_socket_and_exits_0(lab, tmp_path):
    """step 1 (socket): strace sees one socket(AF_INET, SOCK_STREAM, 0 or TCP) that returns an fd; exit 0."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    calls = strace_calls(log)
    socks = named(calls, "socket")
    assert socks, f"step 1 (socket): expected a socket() call; strace saw:\n{describe(calls)}\n{r}"
    assert is_tcp_socket(socks[0]), (
        f"step 1 (socket): expected socket(AF_INET, SOCK_STREAM, 0); strace saw socket({socks[0].args})")
    assert socks[0].ret is not None and socks[0].ret >= 0, (
        f"step 1 (socket): socket() should return a file descriptor, got {socks[0].ret} {socks[0].errno}")
    assert r.returncode == 0, f"step 1 (socket): expected exit 0 after socket(), got {r.returncode}\n{r}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_server_makes_no_call_of_a_later_step(lab, tmp_path):
    """step 1 (socket): socket() is the only socket API call: no bind/listen/accept/connect/send/recv yet."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    assert r.returncode == 0, r
    calls = strace_calls(log)
    assert api_names(calls) == ["socket"], (
        f"step 1 (socket): expected socket() and no later step (bind is lesson 02); strace saw:\n{describe(calls)}")
    assert r.stdout == "", f"step 1 (socket): stdout carries data lines only, and there are none yet\n{r}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_trace_shows_a_new_socket_in_state_close(lab, tmp_path):
    """step 1 (socket): socket() = fd, and the kernel's view of that fd (strace -yy asks the kernel):
    a TCP socket with no address and no connection, state CLOSE."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    assert r.returncode == 0, r
    calls = strace_calls(log)
    socks = [c for c in named(calls, "socket") if c.ret is not None and c.ret >= 0]
    assert socks, f"step 1 (socket): expected socket() to return an fd; strace saw:\n{describe(calls)}\n{r}"
    if socks[0].note:               # the kernel's own word (strace -yy)
        assert socket_view(socks[0].note) == {"local": None, "peer": None}, (
            f"step 1 (socket): a new socket is a TCP socket with no address and no connection (CLOSE); "
            f"the kernel says fd {socks[0].ret} is {socks[0].note}")
    else:                           # strace may not ask (no CAP_SYS_PTRACE): what the calls say
        assert is_tcp_socket(socks[0]) and not [c for c in calls if c.name in ("bind", "connect", "listen")], (
            f"step 1 (socket): a new TCP socket with no address and no connection (CLOSE); strace saw:\n"
            f"{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_missing_port_and_unknown_flag_are_usage_errors_before_any_socket(lab, tmp_path):
    """Usage: no PORT, or -k (a lesson 06 flag): exit 2 with a usage line, and no socket() call."""
    log = tmp_path / "strace.log"
    r = run_server(lab, strace=log)
    assert r.returncode == 2, f"a missing PORT is a usage error (exit 2)\n{r}"
    assert "usage: server" in r.stderr, r
    assert api_names(strace_calls(log)) == [], f"nothing should run after a usage error:\n{describe(strace_calls(log))}"
    r = run_server(lab, "-k", "0")
    assert r.returncode == 2, f"-k belongs to lesson 06; here it is a usage error\n{r}"
