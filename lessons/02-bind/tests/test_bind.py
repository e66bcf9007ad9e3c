"""Lesson 02 (bind): steps 1-2 of the seed's demo6.

The server creates its socket, sets SO_REUSEADDR, fills a sockaddr_in
(family, htons(port), INADDR_ANY or --bind's address) and binds it (PORT 0:
the kernel chooses), asks getsockname() which port it got, prints `bound to
ADDR:PORT` and exits 0 - without listening. The tests read the calls strace
sees, so the port and address the kernel was really given are checked.
"""
import errno
import re

import pytest

from labharness import free_port, program, time_wait_on, wait_until
from lessoncheck import run_strace, api_names, describe, named, sockaddr_ip, sockaddr_port, strace_calls
from stderr_facts import names_errno

LESSON = "02-bind"


def run_server(lab, *args, strace=None):
    argv = [program(LESSON, "server"), *args]
    return run_strace(lab, argv, strace) if strace else lab.run(argv)


def bind_call(calls, r):
    binds = named(calls, "bind")
    assert binds, f"step 2 (bind): expected a bind() call; strace saw:\n{describe(calls)}\n{r}"
    return binds[0]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_port_zero_binds_a_port_the_kernel_chose_and_prints_it(lab, tmp_path):
    """step 2 (bind): bind(0.0.0.0:0) = 0, getsockname() learns the port; stdout says bound to 0.0.0.0:PORT."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    calls = strace_calls(log)
    b = bind_call(calls, r)
    assert (sockaddr_ip(b.args), sockaddr_port(b.args), b.ret) == ("0.0.0.0", 0, 0), (
        f"step 2 (bind): expected bind(fd, 0.0.0.0:0) = 0 (INADDR_ANY, port 0); strace saw bind({b.args}) = {b.ret}")
    assert r.returncode == 0, f"step 2 (bind): expected exit 0, got {r.returncode}\n{r}"
    m = re.fullmatch(r"bound to 0\.0\.0\.0:(\d+)\n", r.stdout)
    assert m and 0 < int(m.group(1)) < 65536, (
        f"step 2 (bind): getsockname() should fill the address printed: expected 'bound to 0.0.0.0:PORT' "
        f"with the port the kernel chose\n{r}")
    names = [c.name for c in calls]
    assert "getsockname" in names[names.index("bind"):], (
        f"step 2 (bind): getsockname() after bind() tells the chosen port; strace saw:\n{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_given_port_is_bound_in_network_byte_order(lab, tmp_path):
    """step 2 (bind): PORT given: the kernel is asked for exactly that port (htons!), and binds it."""
    port = free_port()
    while port == int.from_bytes(port.to_bytes(2, "big"), "little"):
        port = free_port()          # a port that reads the same both ways proves nothing
    log = tmp_path / "strace.log"
    r = run_server(lab, str(port), strace=log)
    b = bind_call(strace_calls(log), r)
    swapped = int.from_bytes(port.to_bytes(2, "big"), "little")
    assert sockaddr_port(b.args) == port, (
        f"step 2 (bind): expected bind() to port {port}, the kernel got port {sockaddr_port(b.args)}"
        + (" - the bytes swapped: sin_port needs htons(port)" if sockaddr_port(b.args) == swapped else ""))
    assert r.returncode == 0 and r.stdout == f"bound to 0.0.0.0:{port}\n", r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_bind_to_loopback_address(lab, tmp_path):
    """step 2 (bind): --bind 127.0.0.1 binds that address only (inet_pton)."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "--bind", "127.0.0.1", "0", strace=log)
    b = bind_call(strace_calls(log), r)
    assert sockaddr_ip(b.args) == "127.0.0.1", (
        f"step 2 (bind): --bind 127.0.0.1 should bind 127.0.0.1; strace saw bind({b.args})")
    assert r.returncode == 0 and re.fullmatch(r"bound to 127\.0\.0\.1:\d+\n", r.stdout), r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_ipv6_bind_address_is_a_usage_error_here(lab, tmp_path):
    """step 2 (bind): a sockaddr_in holds IPv4 only: --bind :: is a usage error (exit 2), nothing bound."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "--bind", "::", "0", strace=log)
    assert r.returncode == 2, f"--bind :: in lesson 02: expected exit 2 (IPv6 binding is lesson 06)\n{r}"
    assert "bind" not in api_names(strace_calls(log)), describe(strace_calls(log))


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_reuseaddr_is_set_before_bind_and_nothing_listens(lab, tmp_path):
    """step 2 (bind): setsockopt(SO_REUSEADDR) comes before bind(); no listen() yet."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    assert r.returncode == 0, r
    calls = strace_calls(log)
    assert api_names(calls) == ["socket", "bind"], (
        f"step 2 (bind): expected socket, bind and no listen yet (lesson 03); strace saw:\n{describe(calls)}")
    names = [c.name for c in calls]
    reuse = [i for i, c in enumerate(calls) if c.name == "setsockopt" and "SO_REUSEADDR" in c.args]
    assert reuse and reuse[0] < names.index("bind"), (
        f"step 2 (bind): expected setsockopt(SO_REUSEADDR) before bind(); strace saw:\n{describe(calls)}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_port_with_a_connection_in_time_wait_can_be_bound_again(lab):
    """step 2 (bind): thanks to SO_REUSEADDR, a port whose last connection is in TIME_WAIT binds at once."""
    listener, port = lab.listen()
    peer = lab.connect(port)
    conn, _ = lab.accept(listener)
    conn.close()                    # the server side closes first ...
    assert lab.recv_until_closed(peer) == b""
    peer.close()                    # ... so its end waits in TIME_WAIT
    listener.close()
    assert wait_until(lambda: time_wait_on(port)), f"no TIME_WAIT on port {port}"
    r = run_server(lab, str(port))
    assert r.returncode == 0, (
        f"step 2 (bind): port {port} has a connection in TIME_WAIT: with SO_REUSEADDR set before bind() "
        f"it binds anyway; without, bind() fails with EADDRINUSE\n{r}")
    assert r.stdout == f"bound to 0.0.0.0:{port}\n", r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_port_in_use_fails_with_eaddrinuse_and_exit_1(lab, tmp_path):
    """step 2 (bind): a port another program listens on -> bind() fails with EADDRINUSE: say so, exit 1."""
    busy, port = lab.listen("127.0.0.1")
    log = tmp_path / "strace.log"
    r = run_server(lab, str(port), strace=log)
    b = bind_call(strace_calls(log), r)
    assert b.ret == -1 and b.errno == "EADDRINUSE", f"expected bind() = -1 EADDRINUSE; strace saw {b}"
    assert r.returncode == 1, f"step 2 (bind): a failed bind() is a runtime failure: expected exit 1\n{r}"
    assert names_errno(r.stderr, errno.EADDRINUSE), (
        f"step 2 (bind): the error should say why bind() failed: EADDRINUSE (Address already in use)\n{r}")
    assert "bound to" not in r.stdout, f"step 2 (bind): nothing is bound after a failed bind()\n{r}"
