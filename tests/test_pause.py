"""test_pause.py - `--pause`: before each socket call, say which comes next
and wait for Enter; only on a terminal.

A student runs `server --pause 0` to look at the kernel between two steps
(`ss -tan` between bind() and listen()). Through a pseudo-terminal (Python's
pty) we are that student: we read the prompt, check the kernel's state while
the program waits, press Enter, and check it again. Without a terminal the
program must not wait: a test, a pipe or a grader never hangs on --pause.
"""
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from labharness import (BUILD, DEFAULT_WAIT, TCP_LISTEN, base_env, listen_state_seen, port_in_state,
                        program, wait_until)

LESSON = "03-listen"
PROMPT = r"^\[server\] next: step (\d) [^\n]*?  {call}\(([^\n]*)\)\s+\(Enter runs it\)"


class Terminal:
    """A program on a pseudo-terminal: stdin, stdout and stderr all the tty,
    as in a student's shell."""

    def __init__(self, argv):
        self.master, slave = pty.openpty()
        try:
            self.p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave,
                                      env=base_env(), start_new_session=True)
        finally:
            os.close(slave)
        self.out = b""
        self.seen = 0           # how much of the output the prompts so far have used

    def text(self):
        return self.out.decode("utf-8", "replace").replace("\r\n", "\n")

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:     # EIO: the program closed the terminal (it exited)
                chunk = b""
            if not chunk:
                return False
            self.out += chunk
        return True

    def expect(self, pattern, timeout=DEFAULT_WAIT):
        """Wait for `pattern` in the output after what earlier expects used."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text(), self.seen)
            if m:
                self.seen = m.end()
                return m
            if not self._read(deadline):
                raise AssertionError(f"--pause: {pattern!r} never appeared (exit {self.p.poll()}); "
                                     f"the terminal showed:\n{self.text()}")

    def quiet_for_a_moment(self):
        """Nothing more is printed while the program waits for Enter (it is
        blocked in read(); we look at what it printed within 0.3 s)."""
        before = len(self.out)
        deadline = time.monotonic() + 0.3
        while self._read(deadline):
            pass
        return self.out[before:]

    def enter(self):
        os.write(self.master, b"\n")

    def close(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(5)
        os.close(self.master)


@pytest.fixture
def terminal():
    terms = []

    def start(argv):
        t = Terminal(argv)
        terms.append(t)
        return t
    yield start
    for t in terms:
        t.close()


def test_pause_waits_before_each_socket_call_and_the_kernel_state_follows_enter(terminal):
    """--pause on a terminal: the prompt names socket(), bind(), listen() before each runs;
    the port is LISTEN only after Enter at the listen() prompt."""
    t = terminal([program(LESSON, "server"), "--pause", "0"])
    m = t.expect(PROMPT.format(call="socket"))
    assert m.group(1) == "1", f"socket() is step 1\n{t.text()}"
    assert "= " not in t.quiet_for_a_moment().decode(), f"socket() ran before Enter\n{t.text()}"
    assert t.p.poll() is None, "the program waits for Enter"
    t.enter()
    t.expect(r"socket\(AF_INET, SOCK_STREAM, 0\) = 3")
    for call in ("setsockopt", "bind", "getsockname"):
        t.expect(PROMPT.format(call=call))
        t.enter()
    port = int(t.expect(r"getsockname\(3, [\d.]+:(\d+), \d+\) = 0").group(1))
    m = t.expect(PROMPT.format(call="listen"))
    assert m.group(1) == "3" and m.group(2) == "3, 5", f"next: step 3 listen(3, 5)\n{t.text()}"
    # Paused before listen(): bound, but nothing listens on the port yet.
    t.quiet_for_a_moment()
    assert not port_in_state(port, TCP_LISTEN), f"port {port} is LISTEN before Enter at listen()"
    assert t.p.poll() is None
    t.enter()
    assert listen_state_seen(port), f"port {port} should be LISTEN after Enter\n{t.text()}"
    t.expect(rf"^listening on 0\.0\.0\.0:{port}$")
    t.expect(PROMPT.format(call="poll"))
    t.enter()
    # poll() waits for a client: one connects, the server sees it and exits 0
    # (it may exit, resetting the queued client, before our connect() returns).
    try:
        socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_WAIT).close()
    except ConnectionResetError:
        pass
    assert wait_until(lambda: t.p.poll() is not None), f"the server should exit\n{t.text()}"
    assert t.p.returncode == 0, t.text()


def test_pause_without_a_terminal_does_not_wait(lab):
    """--pause with stdin not a terminal (/dev/null, as a test or a grader runs it): no prompt, no wait."""
    server = lab.server(LESSON, "--pause")     # waits for "listening on": it would time out if paused
    # stderr is read apart from stdout: wait for the trace line itself.
    server.wait_for(r"listen\(3, 5\) = 0", stream="stderr")
    assert "next: step" not in server.stderr, server.stderr


def test_pause_is_in_every_lesson_programs_help():
    for lesson_dir in sorted(p for p in BUILD.iterdir() if re.match(r"\d\d-", p.name)):
        for prog in ("server", "client"):
            exe = lesson_dir / prog
            if not exe.exists():
                continue
            r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=10)
            assert r.returncode == 0 and "--pause" in r.stdout, f"{exe} --help should list --pause\n{r.stdout}"
