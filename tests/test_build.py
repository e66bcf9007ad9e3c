"""The Makefile itself: sanitizer flags that a CFLAGS on the command line
cannot drop, no Python probe on a plain build, the client of a lesson that
has none of its own, and `make help` that lists every target from the files
that define them."""
import os
import re
import shutil
import subprocess

import pytest

from labharness import LESSONS, ROOT, client_source


def make(*args, **kw):
    """make in the kit, with only these arguments: not the variables of a make
    that runs this test (`make test SAN=1` passes SAN=1 down, in MAKEFLAGS and the environment)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SAN", "BUILD")}
    return subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env, **kw)


def test_a_command_line_cflags_keeps_the_sanitizers():
    # -B -n: print every command of a full build without running any.
    r = make("-B", "-n", "SAN=1", "CFLAGS=-O1", "V=1", "build/san/obj/interpose/trace.o")
    assert r.returncode == 0, r.stderr
    compile_line = next(l for l in r.stdout.splitlines() if "src/interpose/trace.c" in l)
    assert "-O1" in compile_line and "-fsanitize=address,undefined" in compile_line, compile_line


def test_a_plain_build_runs_no_python(tmp_path):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    out = tmp_path / "execs"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(out), "make", "-n", "all"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pythons = [l for l in out.read_text().splitlines() if re.search(r'execve\("[^"]*python', l)]
    assert not pythons, "make all asked Python something:\n" + "\n".join(pythons)


def test_a_lesson_without_a_client_runs_the_latest_earlier_lessons():
    """build/08-fork/client (09, 10 too) is linked from lesson 07's client.o; lessons 01-03,
    before any client, have none."""
    borrowed = [l for l in LESSONS if client_source(l) and client_source(l).parent.name != l]
    assert borrowed == ["08-fork", "09-poll", "10-epoll"], borrowed
    for lesson in borrowed:
        r = make("-B", "-n", "V=1", f"build/{lesson}/client")
        assert r.returncode == 0, r.stderr
        link = next(l for l in r.stdout.splitlines() if f"-o build/{lesson}/client " in l)
        assert "build/07-framing/client.o" in link.split(), link
        assert "lessons/07-framing/client.c" in r.stdout, "built from lesson 07's source"
    r = make("-n", "build/03-listen/client")
    assert r.returncode != 0 and "No rule to make target" in r.stderr, r.stdout + r.stderr


def test_help_lists_every_target_from_the_files_that_define_them():
    r = make("help")
    assert r.returncode == 0, r.stderr
    for target in ("make test", "make test-all", "make bench", "make bench-load", "make docs", "make docker",
                   "make timeline", "make handout", "make grade ", "make grade-all", "make bench-grade",
                   "make gradescope", "make fuzz", "make po-update", "make lesson-output", "make fault-demo",
                   "make clean", "tools/trace"):
        assert target in r.stdout, f"make help does not mention {target!r}:\n{r.stdout}"
