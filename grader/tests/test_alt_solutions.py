"""A correct solution in another style scores full marks.

grader/tests/alt/ holds a lesson program for every lesson's server and
client, each written unlike the kit's reference, as a student might from
the lesson's README and stubs (perror instead of die_call, read/write
instead of recv/send, printf, its own messages, other loop shapes, select,
ppoll, signalfd, epoll's data.ptr). Each is compiled exactly as `make`
compiles the lesson's own file, put in place of it in a copy of the build
directory, and the lesson's own tests are run against it: they must all
pass. And a submission made of all of them, graded as a student's is,
scores full marks.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from labharness import BUILD, ROOT

ALT = ROOT / "grader" / "tests" / "alt"
# (alternative source, lesson, program it replaces): LESSON-PROGRAM.c, one
# per lesson's own program (lessons 08-10 build lesson 07's client).
ALTERNATIVES = [(p.name, p.stem.rsplit("-", 1)[0], p.stem.rsplit("-", 1)[1]) for p in sorted(ALT.glob("*.c"))]


def test_every_lesson_program_has_an_alternative():
    """One alternative per lesson's server, and per client a lesson has of its own."""
    have = {(lesson, prog) for _, lesson, prog in ALTERNATIVES}
    want = {(c.parent.name, c.stem) for c in (ROOT / "lessons").glob("*/*.c")
            if c.stem == "server" or c.parent.name <= "07"}
    assert want <= have, f"no alternative solution for {sorted(want - have)}"


def make_vars():
    """make's variables for the build directory the suite tests (SAN=1 for build/san)."""
    out = [f"BUILD={BUILD}"]
    if BUILD.name == "san":
        out.append("SAN=1")
    return out


def build_like_make(src, lesson, prog, out_dir):
    """Compile and link `src` with the commands make uses for lessons/LESSON/PROG.c."""
    target = BUILD / lesson / prog
    plan = subprocess.run(["make", "-s", "-n", "-B", "V=1", *make_vars(), str(target)], cwd=ROOT,
                          capture_output=True, text=True)
    assert plan.returncode == 0, f"make -n {target} failed:\n{plan.stderr}"
    obj, exe = out_dir / f"{prog}.o", out_dir / prog
    compile_cmd = link_cmd = None
    for line in plan.stdout.splitlines():
        words = shlex.split(line)
        if f"lessons/{lesson}/{prog}.c" in words and "-c" in words:
            compile_cmd = [str(src) if w == f"lessons/{lesson}/{prog}.c" else
                           str(obj) if w == f"{target}.o" else w for w in words]
        elif "-o" in words and words[words.index("-o") + 1] == str(target):
            link_cmd = [str(obj) if w == f"{target}.o" else str(exe) if w == str(target) else w for w in words]
    assert compile_cmd and link_cmd, f"make's commands for {target} not found in:\n{plan.stdout}"
    for cmd in (compile_cmd, link_cmd):
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}{r.stderr}"
    return exe


def build_dir_with(exe, lesson, prog, tmp_path):
    """A copy of BUILD (symlinks) where LESSON/PROG is `exe`."""
    out = tmp_path / "build"
    out.mkdir()
    for entry in BUILD.iterdir():
        if entry.name != lesson:
            (out / entry.name).symlink_to(entry)
    (out / lesson).mkdir()
    for entry in (BUILD / lesson).iterdir():
        if entry.name != prog:
            (out / lesson / entry.name).symlink_to(entry)
    (out / lesson / prog).symlink_to(exe)
    return out


@pytest.mark.parametrize("src,lesson,prog", ALTERNATIVES)
def test_another_style_passes_the_lessons_tests(src, lesson, prog, tmp_path):
    """grader/tests/alt/SRC in place of the lesson's PROG: every test of that lesson passes."""
    if not (BUILD / lesson / prog).exists():
        pytest.fail(f"{BUILD / lesson / prog} is missing: run 'make' first")
    work = tmp_path / "alt"
    work.mkdir()
    exe = build_like_make(ALT / src, lesson, prog, work)
    build = build_dir_with(exe, lesson, prog, tmp_path)
    env = dict(os.environ, LAB_BUILD=str(build))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                        str(ROOT / "lessons" / lesson)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, (
        f"grader/tests/alt/{src} is correct, in another style: lesson {lesson}'s tests should all pass\n{r.stdout[-6000:]}")


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("mode", ["local", "docker"])
def test_a_submission_of_the_alternatives_scores_full_marks(tmp_path_factory, mode):
    """Every lesson file replaced by its alternative and graded as a student's
    submission is (grade.py, its sandbox, or its container): 160 of 160."""
    if mode == "docker" and subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    sys.path.insert(0, str(ROOT))
    from grader.handout import LESSON_POINTS
    from grader.mutants import reference_copy
    scratch = tmp_path_factory.mktemp("alt-grade")
    scratch.chmod(0o755)            # the grader's own uid must enter it
    tree = scratch / "submission"
    reference_copy(tree)
    for src, lesson, prog in ALTERNATIVES:
        shutil.copy(ALT / src, tree / "lessons" / lesson / f"{prog}.c")
    out = scratch / "grade"
    r = subprocess.run([sys.executable, str(ROOT / "grader" / "grade.py"), str(tree), "--out", str(out),
                        "--docker", "yes" if mode == "docker" else "no", "--quiet"],
                       capture_output=True, text=True, timeout=1400)
    assert r.returncode == 0, r.stderr
    results = json.loads((out / "results.json").read_text())
    lost = [f"{t['name']}: {t['output'][:400]}" for t in results["tests"] if t["status"] != "passed"]
    assert results["score"] == sum(LESSON_POINTS.values()), "\n".join(lost)
