"""Lesson 08 (fork): a process per client.

After accept() the server forks: the child closes the listening socket,
serves its client with lesson 07's framed protocol and exits; the parent
closes the client's socket and accepts the next. A SIGCHLD handler reaps
the children (no zombies). SIGTERM to the parent stops accepting (exit 0)
while children finish their clients; Ctrl-C (SIGINT to the whole process
group) ends the children too. The tests look at the processes and fds in
/proc and at the bytes on the wire.
"""
import os
import signal
import socket
import struct
from pathlib import Path

import pytest

from labharness import TCP_LISTEN, fault_env, port_in_state, seed_message, wait_blocked_in, wait_until
from framed import MAX_FRAME, OK_FRAME, bytes_until_closed, frame, interleaved_rounds, round_trip, run_clients
from stderr_facts import reported

LESSON = "08-fork"


def children(pid):
    """The pids of pid's children, zombies included (from /proc/*/stat)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue                # the process has gone meanwhile
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def state(pid):
    """A process's state letter (R, S, Z, ...) or None when it has gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def zombies(pid):
    return [k for k in children(pid) if state(k) == "Z"]


def open_fds(pid):
    """The fds a process has open, as {fd: what it points to}."""
    out = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out[int(fd.name)] = os.readlink(fd)
        except OSError:
            pass
    return out


def sockets(pid):
    return sorted(fd for fd, target in open_fds(pid).items() if target.startswith("socket:"))


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_a_second_client_is_served_while_the_first_is_still_connected(lab):
    """step 4 (fork): client A holds its connection open, C stops mid-frame; B is served meanwhile."""
    server = lab.server(LESSON)
    a = lab.connect(server.port)
    assert round_trip(lab, a, b"A1") == OK_FRAME
    c = lab.connect(server.port)
    c.sendall(frame(b"half a frame")[:7])       # and then nothing: its child waits in recv()
    # B: lesson 07's client (this lesson runs it), played by the test.
    run_clients(lab, server.port, 1, count=3, timeout=5)    # B must not wait for A or C to leave
    assert round_trip(lab, a, b"A2") == OK_FRAME, "A is still served after B has gone"
    c.sendall(frame(b"half a frame")[7:])
    assert lab.recv_exactly(c, 6) == OK_FRAME, "C's frame, finished late, is answered"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(3)
def test_hundred_clients_at_once_each_get_every_reply(lab):
    """step 4 (fork): 100 connections open at once, 3 frames each, interleaved: 300 framed oks."""
    server = lab.server(LESSON)
    socks = [lab.connect(server.port) for _ in range(100)]
    interleaved_rounds(lab, socks)
    assert len(children(server.pid)) == 100, "one child per connected client"
    for s in socks:
        s.close()
    assert wait_until(lambda: server.stdout.count("\nreceived: ") >= 300), server.stdout[-2000:]
    lines = set(server.stdout.splitlines())
    for n in range(100):
        for round_ in range(1, 4):
            assert f"received: client {n} message {round_}" in lines, (n, round_)


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_no_zombie_is_left_when_clients_leave(lab):
    """step 4 (SIGCHLD): each child that exits is reaped: none left, none in state Z."""
    server = lab.server(LESSON)
    socks = [lab.connect(server.port) for _ in range(10)]
    for s in socks:
        assert round_trip(lab, s, b"hi") == OK_FRAME
    assert wait_until(lambda: len(children(server.pid)) == 10), children(server.pid)
    for s in socks:
        s.close()
    assert wait_until(lambda: children(server.pid) == []), (
        f"every child should be reaped once its client leaves; left: "
        f"{[(k, state(k)) for k in children(server.pid)]} (Z = zombie: nobody called waitpid)")
    for _ in range(5):                          # one at a time too: each SIGCHLD reaps
        run_clients(lab, server.port, 1, count=1)
    assert wait_until(lambda: children(server.pid) == []), [(k, state(k)) for k in children(server.pid)]
    assert server.popen.poll() is None, f"the server keeps serving\n{server.stderr}"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_server_has_the_same_fds_after_a_thousand_clients(lab):
    """step 4 (close in parent): the parent's open fds after 1000 clients equal those before."""
    # Under SAN=1 each child's exit would run LeakSanitizer, 1000 times over: the other
    # tests check leaks; this one counts fds.
    asan = os.environ.get("ASAN_OPTIONS", "")
    server = lab.server(LESSON, env={"ASAN_OPTIONS": f"{asan}:detect_leaks=0".lstrip(":")})
    wait_blocked_in(server, "accept")
    before = open_fds(server.pid)
    for n in range(1000):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            assert round_trip(lab, s, b"%d" % n) == OK_FRAME, f"client {n}"
    wait_blocked_in(server, "accept")
    assert wait_until(lambda: children(server.pid) == []), "children reaped"
    after = open_fds(server.pid)
    assert sorted(after) == sorted(before), (
        f"the parent must close its copy of each client socket: {len(before)} fds before, "
        f"{len(after)} after 1000 clients")


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_sigterm_stops_accepting_and_children_finish_their_clients(lab):
    """step 4 (close in child) and step 6: after SIGTERM to the parent the port is closed at once,
    though a child still serves its client: the child holds only its client's socket."""
    server = lab.server(LESSON)
    sock = lab.connect(server.port)
    assert round_trip(lab, sock, b"first") == OK_FRAME
    assert wait_until(lambda: len(children(server.pid)) == 1)
    (child,) = children(server.pid)
    assert len(sockets(child)) == 1, (
        f"the child should hold only its client's socket, it holds {len(sockets(child))} "
        f"(the listening socket must be closed in the child): {open_fds(child)}")
    server.signal(signal.SIGTERM)               # the parent only, as `kill PID` does
    # popen.wait, not server.wait: the child still holds the output pipes open.
    assert server.popen.wait(10) == 0, f"SIGTERM: exit 0\n{server.stderr}"
    assert wait_until(lambda: not port_in_state(server.port, TCP_LISTEN)), (
        "with the parent gone nothing may listen on the port: a child kept its copy of the listening socket")
    assert state(child) not in (None, "Z"), "the child goes on serving its client"
    assert round_trip(lab, sock, b"second") == OK_FRAME, "the child still answers after the parent left"
    sock.close()
    assert wait_until(lambda: state(child) in (None, "Z")), "the child exits when its client leaves"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(2)
def test_ctrl_c_ends_the_server_and_every_child_with_exit_0(lab):
    """Ctrl-C: SIGINT to the whole process group: the parent exits 0, each child closes its client."""
    server = lab.server(LESSON)
    socks = [lab.connect(server.port) for _ in range(3)]
    for s in socks:
        assert round_trip(lab, s, b"hi") == OK_FRAME
    kids = children(server.pid)
    assert len(kids) == 3
    os.killpg(server.pid, signal.SIGINT)        # what the terminal does on Ctrl-C
    assert server.wait() == 0, f"SIGINT: exit 0\n{server.stderr}"
    for s in socks:
        assert bytes_until_closed(lab, s) == b"", "each child closes its client (FIN) and exits"
    assert wait_until(lambda: all(state(k) in (None, "Z") for k in kids)), [state(k) for k in kids]


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_a_bad_client_costs_only_its_own_child(lab):
    """step 5 in a child: a too-long frame and a mid-frame disconnect close those clients; others go on."""
    server = lab.server(LESSON)
    good = lab.connect(server.port)
    assert round_trip(lab, good, b"before") == OK_FRAME
    bad = lab.connect(server.port)
    bad.sendall(struct.pack("!I", MAX_FRAME + 1))
    assert bytes_until_closed(lab, bad) == b"", "a frame above MAX_FRAME: closed, no reply"
    reported(server, [MAX_FRAME + 1], what=f"the frame of {MAX_FRAME + 1} bytes, above the maximum")
    mark = len(server.stderr)
    half = lab.connect(server.port)
    half.sendall(frame(b"half a frame")[:8])    # the header and 4 of the 12 bytes
    half.close()
    reported(server, [8, 4, 12], after=mark, what="the client that left in the middle of a frame")
    assert round_trip(lab, good, b"after") == OK_FRAME


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_concurrent_clients_are_right_under_short_writes_and_eintr(lab):
    """send/read-exactly loops in every child: 1-byte writes, EINTR, 2-byte reads, 10 clients at
    once, which send their frames a byte at a time."""
    faults = fault_env("send:short=1;send:eintr=every3;recv:short=2;recv:eintr=every4")
    server = lab.server(LESSON, env=faults)
    run_clients(lab, server.port, 10, count=3, pieces=True)
    expected = [f"received: {seed_message(i).decode()}" for i in range(1, 4)]
    assert wait_until(lambda: server.stdout.count("\nreceived: ") >= 30), server.stdout
    lines = [l for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert sorted(lines) == sorted(expected * 10), lines
