"""The tracer never changes what a program does, and sees every socket call.

Small C programs written for this (tests/transparency/), each run three
ways: bare, traced (tools/trace --json -o FILE) and traced under LAB_FAULT
with short counts the programs' loops absorb. The three runs must print the
same stdout and exit the same; the trace must hold each call the program
made, once. Under `make test SAN=1` the preloaded library is the sanitizer
build: a read past a caller's buffer aborts the program, and the test fails.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from labharness import BUILD, ROOT, seed_message

TRACE = ROOT / "tools" / "trace"
SOURCES = ROOT / "tests" / "transparency"
# What a correct program survives unchanged: every send and recv cut to one byte.
SHORT = "send:short=1;recv:short=1"
# ... and EINTR on every third send, for the programs that retry it.
SHORT_AND_EINTR = SHORT + ";send:eintr=every3"


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    """The programs, compiled as a student's compiler would: {name: path}."""
    out = tmp_path_factory.mktemp("transparency")
    built = {}
    for src in sorted(SOURCES.glob("*.c")):
        exe = out / src.stem
        r = subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-pthread", "-o", str(exe), str(src)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        built[src.stem] = exe
    fortified = out / "more_calls_fortified"
    r = subprocess.run(["cc", "-O2", "-D_FORTIFY_SOURCE=2", "-Wall", "-Werror", "-o", str(fortified),
                        str(SOURCES / "more_calls.c")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    syms = subprocess.run(["nm", "-D", str(fortified)], capture_output=True, text=True).stdout
    assert "__poll_chk" in syms, f"the compiler did not fortify poll():\n{syms}"
    built["more_calls_fortified"] = fortified
    return built


def trace_events(path):
    """Every line of a --json trace file, each one whole JSON object."""
    text = Path(path).read_text() if Path(path).exists() else ""
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a torn or stray line in the trace: {line!r}")
    return events


def run_three_ways(lab, tmp_path, argv, faults=SHORT, extra=(), timeout=60):
    """argv bare, traced and traced under `faults`: the three Results, and the
    traced runs' events. Asserts they printed the same and exited the same."""
    bare = lab.run(argv, timeout=timeout)
    runs = {}
    for name, env in (("traced", {}), ("faulted", {"LAB_FAULT": faults})):
        out = tmp_path / f"{name}.jsonl"
        r = lab.run([TRACE, "--json", "-o", out, *extra, "--", *argv], env=env, timeout=timeout)
        runs[name] = (r, trace_events(out))
        assert (r.returncode, r.stdout) == (bare.returncode, bare.stdout), (
            f"{name} run differs from the bare one\n--- bare:\n{bare}\n--- {name}:\n{r}")
    return bare, runs


def calls(events, name):
    return [e for e in events if e.get("call") == name]


def count(events, *names):
    return {n: len(calls(events, n)) for n in names}


def test_a_handler_doing_socket_io_while_main_prints_changes_nothing(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["handler_io"]], faults=SHORT_AND_EINTR)
    assert bare.returncode == 0 and bare.stdout.count("\n") == 100001, bare.stdout[-300:]
    events = runs["traced"][1]
    assert count(events, "bind", "listen", "connect", "accept") == \
        {"bind": 1, "listen": 1, "connect": 1, "accept": 1}, events[:8]
    assert calls(events, "send") and calls(events, "recv"), "the handler's calls are traced"


def test_a_handler_that_waits_in_recv_never_hangs_even_quiet(lab, tmp_path, progs):
    argv = [progs["handler_io"], "blocking"]
    bare = lab.run(argv, timeout=60)
    for flags in (["--json", "-o", tmp_path / "t.jsonl"], ["-q"]):
        r = lab.run([TRACE, *flags, "--", *argv], timeout=60)
        assert (r.returncode, r.stdout) == (bare.returncode, bare.stdout), r


def test_a_socket_on_fd_2_never_receives_a_trace_line(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["closed_stderr"]])
    assert "client fd 2; the peer received 15 bytes: [hello over fd 2]" in bare.stdout, bare
    sockets = [e["ret"] for e in calls(runs["traced"][1], "socket")]
    assert 2 in sockets, "the socket on fd 2 is traced, to the trace's own fd"


def test_a_kit_client_with_stderr_closed_sends_only_its_messages(lab):
    listener, port = lab.listen()
    client = lab.start(["sh", "-c", 'exec "$0" "$@" 2>&-', BUILD / "06-close" / "client",
                        "-n", "2", "-i", "0", "127.0.0.1", port],
                       env={"LAB_TRACE_FILE": ""})
    conn, _ = lab.accept(listener)
    got = b""
    for i in (1, 2):
        got += lab.recv_exactly(conn, len(seed_message(i)))
        conn.sendall(b"ok")
    got += lab.recv_until_closed(conn)
    assert client.wait() == 0
    assert got == seed_message(1) + seed_message(2), f"the peer got more than the messages: {got!r}"


BAD_POINTER_CALLS = {"send": 1, "sendto": 1, "bind": 1, "connect": 1, "setsockopt": 1, "getsockopt": 1,
                     "writev": 2, "getsockname": 2, "getpeername": 1, "sendmsg": 1, "recv": 1, "accept": 1}
# With the sanitizer build (make test SAN=1) libasan is preloaded too, and
# its own interceptors of these read the length before any tracer does:
# they crash bare under libasan as well, so they are left out there.
ASAN_READS = {"getsockname-len": "getsockname", "getpeername": "getpeername", "accept-len": "accept"}


def sanitizer_library():
    ldd = subprocess.run(["ldd", str(BUILD / "libsocketlab.so")], capture_output=True, text=True).stdout
    return "libasan" in ldd


def test_bad_pointers_give_efault_not_a_crash_and_the_trace_shows_them(lab, tmp_path, progs):
    skip = list(ASAN_READS) if sanitizer_library() else []
    expected = dict(BAD_POINTER_CALLS)
    for case in skip:
        expected[ASAN_READS[case]] -= 1
    expected = {call: n for call, n in expected.items() if n}
    bare, runs = run_three_ways(lab, tmp_path, [progs["bad_pointers"], *skip])
    assert bare.returncode == 0 and bare.stdout.count("EFAULT") == sum(expected.values()), bare
    for name, (r, events) in runs.items():
        efault = {}
        for e in events:
            if e.get("errno") == "EFAULT":
                efault[e["call"]] = efault.get(e["call"], 0) + 1
        assert efault == expected, f"{name}: {efault}"
    shown = [e["text"] for e in runs["traced"][1] if e.get("errno") == "EFAULT"]
    assert all("0x1" in t or "iov" in t for t in shown), shown


def test_a_truncated_accept_is_decoded_within_the_callers_buffer(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["truncated_accept"]])
    if bare.stdout.startswith("skip"):
        pytest.skip("this host has no IPv6 loopback")
    assert "length 28 (given 16)" in bare.stdout, bare
    accept = calls(runs["traced"][1], "accept")
    assert len(accept) == 1 and accept[0]["text"].endswith("(AF_INET6, 16 bytes), 28)"), accept


def test_a_socket_closed_inside_libc_leaves_its_number_to_a_file_untouched(lab, tmp_path, progs):
    target = tmp_path / "file"
    bare, runs = run_three_ways(lab, tmp_path, [progs["libc_close"], target])
    assert "the file got the socket's number: yes" in bare.stdout, bare
    assert "write to the file = 12" in bare.stdout and target.read_bytes() == b"twelve bytes"
    for name, (r, events) in runs.items():
        assert not calls(events, "write"), f"{name}: a write to a file was taken for a socket's"


def test_siglongjmp_out_of_recv_leaves_the_tracer_working(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["longjmp_recv"]])
    assert "timeouts 3; after them 15 bytes arrived whole" in bare.stdout, bare
    assert calls(runs["traced"][1], "send"), "after the jumps, send() is still traced"
    faulted = calls(runs["faulted"][1], "send")
    assert any(e.get("injected") == "short write" for e in faulted), "and still injected into"


MORE_CALLS = ("select", "getsockopt", "ioctl", "dup2", "poll", "ppoll", "epoll_create", "epoll_ctl",
              "sendmmsg", "epoll_pwait", "recvmmsg", "sendfile", "dup", "dup3")


@pytest.mark.parametrize("build", ["more_calls", "more_calls_fortified"])
def test_every_socket_call_is_seen_once(lab, tmp_path, progs, build):
    data = tmp_path / "data"
    data.write_bytes(b"12345")
    bare, runs = run_three_ways(lab, tmp_path, [progs[build], data])
    assert bare.returncode == 0 and "sendfile 5" in bare.stdout, bare
    events = runs["traced"][1]
    assert count(events, *MORE_CALLS) == {n: 1 for n in MORE_CALLS}, bare.stdout
    assert [e["text"] for e in calls(events, "fcntl")] == ["fcntl(4, F_DUPFD, 30)"]
    # The Unix-domain pair is no TCP socket: seen only with --all, plainly labelled.
    assert not calls(events, "socketpair")
    out = tmp_path / "all.jsonl"
    r = lab.run([TRACE, "--json", "--all", "-o", out, "--", progs[build], data])
    assert (r.returncode, r.stdout) == (bare.returncode, bare.stdout), r
    pair = calls(trace_events(out), "socketpair")
    assert len(pair) == 1 and pair[0]["step"] == 0 and pair[0]["label"] == "AF_UNIX socket", pair


def test_four_threads_binding_500_times_each_trace_2000_whole_lines(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["threads_bind"]])
    assert "2000 of 2000" in bare.stdout, bare
    binds = calls(runs["traced"][1], "bind")
    assert len(binds) == 2000 and all(e["ret"] == 0 for e in binds), len(binds)


def test_fork_and_exec_are_traced_in_each_process(lab, tmp_path, progs):
    bare, runs = run_three_ways(lab, tmp_path, [progs["fork_exec"]])
    assert "the parent received 14 bytes\nthe child exited 0\n" in bare.stdout, bare
    events = runs["traced"][1]
    connect, accept = calls(events, "connect"), calls(events, "accept")
    assert len(connect) == 1 and len(accept) == 1, events
    assert connect[0]["pid"] != accept[0]["pid"], "the exec'd child traces itself"


@pytest.mark.parametrize("kind", ["-static", "-static-pie"])
def test_a_static_program_is_refused_with_the_reason(lab, tmp_path, kind):
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n')
    exe = tmp_path / "hello"
    r = subprocess.run(["cc", kind, "-o", str(exe), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cc {kind} does not link here: {r.stderr.strip()[-200:]}")
    r = lab.run([TRACE, "--", exe])
    assert r.returncode == 1 and r.stdout == "", r
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and str(exe) in lines[0] and "static" in lines[0], r


def test_a_script_runs_and_its_programs_are_traced(lab, tmp_path, progs):
    listener, port = lab.listen()
    script = tmp_path / "run-client"
    script.write_text(f'#!/bin/sh\nexec "{progs["client"]}" "$@"\n')
    script.chmod(0o755)
    out = tmp_path / "t.jsonl"
    proc = lab.start([TRACE, "--json", "-o", out, "--", script, port])
    conn, _ = lab.accept(listener)
    assert lab.recv_until_closed(conn) == b"ping"
    conn.sendall(b"pong")
    conn.close()
    assert proc.wait() == 0 and proc.stdout == "reply: pong\n", proc.stderr
    assert len(calls(trace_events(out), "connect")) == 1


def test_a_script_whose_interpreter_is_static_is_refused(lab, tmp_path):
    static = tmp_path / "static-sh"
    src = tmp_path / "s.c"
    src.write_text("int main(void) { return 0; }\n")
    if subprocess.run(["cc", "-static", "-o", str(static), str(src)], capture_output=True).returncode:
        pytest.skip("cc -static does not link here")
    script = tmp_path / "script"
    script.write_text(f"#!{static}\n")
    script.chmod(0o755)
    r = lab.run([TRACE, "--", script])
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and str(static) in r.stderr, r


@pytest.mark.parametrize("case, code", [("missing", 127), ("not-executable", 126), ("directory", 126)])
def test_what_cannot_run_is_named_in_one_line(lab, tmp_path, case, code):
    path = tmp_path / case
    if case == "not-executable":
        path.write_text("#!/bin/sh\n")
    elif case == "directory":
        path.mkdir()
    r = lab.run([TRACE, "--", path])
    assert r.returncode == code and len(r.stderr.splitlines()) == 1 and str(path) in r.stderr, r
