"""Lesson 01 (socket): step 1 of the seed's demo6 and nothing more.

The server asks the kernel for a TCP socket, shows what it got (a file
descriptor, a socket in state CLOSE, the kernel object socket:[inode]) and
exits 0 without binding it.
"""
import re
import socket

import pytest

from labharness import parse_strace, program, socket_call_names

LESSON = "01-socket"


def ipv6_sockets_work():
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        return True
    except OSError:
        return False


def run_server(lab, *args, strace=None):
    return lab.run([program(LESSON, "server"), *args], strace=strace)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_socket_returns_a_file_descriptor_and_the_trace_shows_it(lab):
    """step 1 (socket): socket() returns fd 3, a TCP socket in state CLOSE."""
    r = run_server(lab, "0")
    assert r.returncode == 0, f"step 1 (socket): the server should exit 0\n{r}"
    assert r.stdout == "", f"step 1 (socket): nothing is bound yet, so stdout stays empty\n{r}"
    lines = r.stderr.splitlines()
    assert lines[0] == "[server] step 1 create socket  socket(AF_INET, SOCK_STREAM, 0) = 3", (
        f"step 1 (socket): the first trace line should be the socket() call returning fd 3\n{r}")
    assert "[server]   kernel: fd 3 CLOSE (no connection)" in lines, (
        f"step 1 (socket): the kernel's view of a new socket is CLOSE\n{r}")
    assert any(re.fullmatch(r"\[server\]   fd 3 -> socket:\[\d+\]: .*", l) for l in lines), (
        f"step 1 (socket): the trace should show /proc's view of fd 3, socket:[inode]\n{r}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_server_makes_the_socket_call_and_no_later_step(lab, tmp_path):
    """step 1 (socket): strace sees socket() and no bind/listen/accept/connect/send/recv."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    assert r.returncode == 0, r
    calls = parse_strace(log)
    assert socket_call_names(calls) == ["socket"], (
        f"step 1 (socket): the only socket API call should be socket(); strace saw {calls}")
    sock = [c for c in calls if c[0] == "socket"][0]
    assert sock[1].startswith("AF_INET, SOCK_STREAM"), f"step 1 (socket): a TCP/IPv4 socket: {sock}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
@pytest.mark.skipif(not ipv6_sockets_work(), reason="this kernel has no IPv6 (socket(AF_INET6) fails)")
def test_bind_ipv6_address_makes_an_ipv6_socket(lab, tmp_path):
    """step 1 (socket): --bind :: asks the kernel for an AF_INET6 socket (strace sees the call)."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "--bind", "::", "0", strace=log)
    assert r.returncode == 0, r
    socks = [c for c in parse_strace(log) if c[0] == "socket"]
    assert len(socks) == 1 and socks[0][1].startswith("AF_INET6, SOCK_STREAM"), (
        f"step 1 (socket): the family follows the address to bind: AF_INET6 for ::; strace saw {socks}")
    assert "socket(AF_INET6, SOCK_STREAM, 0) = 3" in r.stderr, r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_missing_port_and_unknown_flag_are_usage_errors(lab):
    """Usage: no PORT, or -k (a lesson 06 flag), exit 2 with a usage line and no socket."""
    r = run_server(lab)
    assert r.returncode == 2, f"a missing PORT is a usage error (exit 2)\n{r}"
    assert "missing PORT" in r.stderr and "usage: server" in r.stderr, r
    assert "socket(" not in r.stderr, f"nothing should run after a usage error\n{r}"
    r = run_server(lab, "-k", "0")
    assert r.returncode == 2, f"-k belongs to lesson 06; here it is a usage error\n{r}"
    assert "-k arrives in lesson 06" in r.stderr, r
