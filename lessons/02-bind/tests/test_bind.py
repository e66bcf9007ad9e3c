"""Lesson 02 (bind): steps 1-2 of the seed's demo6.

The server creates its socket, sets SO_REUSEADDR, binds an address and port
(PORT 0: the kernel chooses), asks getsockname() which port it got, prints
`bound to ADDR:PORT` and exits 0 - without listening.
"""
import re

import pytest

from labharness import free_port, parse_strace, program, socket_call_names, time_wait_on, wait_until

LESSON = "02-bind"


def run_server(lab, *args, strace=None):
    return lab.run([program(LESSON, "server"), *args], strace=strace)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_port_zero_binds_a_port_the_kernel_chose_and_prints_it(lab):
    """step 2 (bind): bound to 0.0.0.0:PORT on stdout, the port getsockname() shows."""
    r = run_server(lab, "0")
    assert r.returncode == 0, f"step 2 (bind): the server should exit 0\n{r}"
    m = re.fullmatch(r"bound to 0\.0\.0\.0:(\d+)\n", r.stdout)
    assert m, f"step 2 (bind): stdout should be exactly one line 'bound to 0.0.0.0:PORT'\n{r}"
    port = int(m.group(1))
    assert 0 < port < 65536, f"step 2 (bind): the kernel picks a real port, not 0\n{r}"
    assert "bind(3, 0.0.0.0:0, 16) = 0" in r.stderr, f"step 2 (bind): bind asks for port 0\n{r}"
    assert f"getsockname(3, 0.0.0.0:{port}, 16) = 0" in r.stderr, (
        f"step 2 (bind): getsockname() should show the port printed on stdout\n{r}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_bind_to_loopback_address(lab):
    """step 2 (bind): --bind 127.0.0.1 binds that address only."""
    r = run_server(lab, "--bind", "127.0.0.1", "0")
    assert r.returncode == 0, r
    assert re.fullmatch(r"bound to 127\.0\.0\.1:\d+\n", r.stdout), (
        f"step 2 (bind): the address printed is the one bound\n{r}")
    assert "bind(3, 127.0.0.1:0, 16) = 0" in r.stderr, r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_given_port_is_bound_in_network_byte_order(lab):
    """step 2 (bind): PORT 5005-style, not 0: the kernel sees exactly that port (htons!)."""
    port = free_port()
    while port == int.from_bytes(port.to_bytes(2, "big"), "little"):
        port = free_port()          # a port that reads the same both ways proves nothing
    r = run_server(lab, str(port))
    assert r.returncode == 0, r
    assert r.stdout == f"bound to 0.0.0.0:{port}\n", (
        f"step 2 (bind): the port bound should be {port}; a swapped one means a missing htons()\n{r}")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_reuseaddr_is_set_before_bind_and_nothing_listens(lab, tmp_path):
    """step 2 (bind): setsockopt(SO_REUSEADDR) comes before bind(); no listen() yet."""
    log = tmp_path / "strace.log"
    r = run_server(lab, "0", strace=log)
    assert r.returncode == 0, r
    calls = parse_strace(log)
    assert socket_call_names(calls) == ["socket", "bind"], (
        f"step 2 (bind): the socket API calls should be socket, bind (no listen yet); strace saw {calls}")
    names = [c[0] for c in calls]
    reuse = [i for i, c in enumerate(calls) if c[0] == "setsockopt" and "SO_REUSEADDR" in c[1]]
    assert reuse, f"step 2 (bind): SO_REUSEADDR should be set; strace saw {calls}"
    assert reuse[0] < names.index("bind"), (
        f"step 2 (bind): SO_REUSEADDR only helps when set before bind(); strace saw {calls}")
    assert "getsockname" in names[names.index("bind"):], (
        f"step 2 (bind): getsockname() after bind() tells the chosen port; strace saw {calls}")
    # The trace tells the same story in the same order.
    steps = [l for l in r.stderr.splitlines() if "step 2" in l]
    assert [s.split("  ")[1].split("(")[0] for s in steps] == ["setsockopt", "bind", "getsockname"], (
        f"step 2 (bind): trace order should be setsockopt, bind, getsockname\n{r}")


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
        f"step 2 (bind): with SO_REUSEADDR set before bind(), TIME_WAIT does not block the port\n{r}")
    assert r.stdout == f"bound to 0.0.0.0:{port}\n", r


@pytest.mark.lesson(LESSON)
@pytest.mark.points(4)
def test_port_in_use_fails_with_eaddrinuse_and_a_hint(lab):
    """step 2 (bind): a port another program listens on -> EADDRINUSE, a hint, exit 1."""
    busy, port = lab.listen("127.0.0.1")
    r = run_server(lab, str(port))
    assert r.returncode == 1, f"step 2 (bind): a port in use is a runtime failure (exit 1)\n{r}"
    assert f"bind(3, 0.0.0.0:{port}, 16) = -1 EADDRINUSE (Address already in use)" in r.stderr, (
        f"step 2 (bind): the trace should show bind failing with EADDRINUSE\n{r}")
    assert f"server: bind 0.0.0.0:{port}: Address already in use (EADDRINUSE)" in r.stderr, (
        f"step 2 (bind): the error should name the call, the address and errno\n{r}")
    assert re.search(r"^server: hint: .*(another program|TIME_WAIT).*", r.stderr, re.M), (
        f"step 2 (bind): the error should come with a hint about the busy port\n{r}")
    assert "bound to" not in r.stdout, r
