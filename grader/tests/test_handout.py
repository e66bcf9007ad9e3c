"""test_handout.py - the handout is a lab: one new step per lesson, a student's
guide, `make help` with only what works there, and `make check`.

In a fresh handout `make check` names lesson 01 step 1; `make check LESSON=NN`
fails naming that lesson's new step; with the reference code put into the
holes, `make check` passes every lesson; a file that does not compile is
reported with the compiler's message, never tested stale.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from grader import handout  # noqa: E402

# The steps each lesson's files ask for: its new steps only (lesson 06's
# server also binds with getaddrinfo(AI_PASSIVE), new there: step 2).
NEW_STEPS = {
    "01-socket": {"server": [1]},
    "02-bind": {"server": [2]},
    "03-listen": {"server": [3]},
    "04-accept": {"server": [4], "client": [1, 2]},
    "05-send-recv": {"server": [5], "client": [3]},
    "06-close": {"server": [2, 6], "client": [4]},
    # Beyond one client: 07's framing is new on both sides (the talk steps);
    # lessons 08-10 run lesson 07's client, so they have a server only.
    "07-framing": {"server": [5], "client": [3]},
    "08-fork": {"server": [4]},
    "09-poll": {"server": [4, 5]},
    "10-epoll": {"server": [4, 5]},
}
# The hole `make check LESSON=NN` names first: the server's, as the README's order
# (09 and 10: the loop, step 5, runs first and calls step 4's accept_clients()).
FIRST_HOLE = {
    "01-socket": "lesson 01-socket, step 1: write it at TODO(step 1) in lessons/01-socket/server.c",
    "02-bind": "lesson 02-bind, step 2: write it at TODO(step 2) in lessons/02-bind/server.c",
    "03-listen": "lesson 03-listen, step 3: write it at TODO(step 3) in lessons/03-listen/server.c",
    "04-accept": "lesson 04-accept, server step 4: write it at TODO(step 4) in lessons/04-accept/server.c",
    "05-send-recv": "lesson 05-send-recv, server step 5: write it at TODO(step 5) in lessons/05-send-recv/server.c",
    "06-close": "lesson 06-close, server step 2: write it at TODO(step 2) in lessons/06-close/server.c",
    "07-framing": "lesson 07-framing, server step 5: write it at TODO(step 5) in lessons/07-framing/server.c",
    "08-fork": "lesson 08-fork, step 4: write it at TODO(step 4) in lessons/08-fork/server.c",
    "09-poll": "lesson 09-poll, step 5: write it at TODO(step 5) in lessons/09-poll/server.c",
    "10-epoll": "lesson 10-epoll, step 5: write it at TODO(step 5) in lessons/10-epoll/server.c",
}
# Every lesson of the kit (01-06 ask for their new steps only; 07-10, beyond
# one client, have their own layout: each names the hole its programs hit first).
LESSONS = sorted(p.parent.name for p in ROOT.glob("lessons/[0-9][0-9]-*/tests"))
# Words of the maintainers' README that have no place in the student's guide.
MAINTAINER_WORDS = ("docker", "gradescope", "make bench", "fuzz", "make grade", "compose")


def make(tree, *args, timeout=600):
    """make in the handout, as a student runs it: no flags from an outer make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "LAB_BUILD")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=tree, env=env, capture_output=True,
                          text=True, errors="replace", timeout=timeout)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    return handout.make_handout(tmp_path_factory.mktemp("handout") / "handout")


def copy_of(tree, dst):
    shutil.copytree(tree, dst, ignore=shutil.ignore_patterns("build"))
    return dst


def test_each_lesson_asks_only_for_its_new_steps(fresh):
    for lesson, progs in NEW_STEPS.items():
        for prog, steps in progs.items():
            kit = (ROOT / "lessons" / lesson / f"{prog}.c").read_text()
            assert sorted({s for s, _, _ in handout.solution_regions(kit)}) == steps, (
                f"lessons/{lesson}/{prog}.c: the holes should be its new steps {steps} only")
            text = (fresh / "lessons" / lesson / f"{prog}.c").read_text()
            todos = sorted({int(n) for n in re.findall(r"TODO\(step (\d+)\): write step", text)})
            assert todos == steps, f"{lesson}/{prog}.c asks for steps {todos}, not {steps}"
            assert "BEGIN SOLUTION" not in text and "STUB:" not in text
    # The steps of earlier lessons are there, complete: lesson 04's server listens.
    assert re.search(r"\blisten\(listenfd, BACKLOG\)", (fresh / "lessons/04-accept/server.c").read_text())
    assert re.search(r"\bsocket\(", (fresh / "lessons/06-close/client.c").read_text().split("TODO(step 4)")[0])
    # Lesson 08 asks for the fork only: 07's framing is there, complete.
    assert re.search(r"\bsendall\(clientfd, reply", (fresh / "lessons/08-fork/server.c").read_text())
    assert not (fresh / "lessons/10-epoll/client.c").exists(), "lesson 10 runs lesson 07's client"


def test_each_hole_says_where_to_write_and_what_the_step_needs(fresh):
    for c in sorted((fresh / "lessons").glob("*/*.c")):
        text = c.read_text()
        for m in re.finditer(r"TODO\(step (\d+)\): write step \d+ here.*?^\s*[^/\s*][^\n]*not_implemented\((\d+)\);",
                             text, re.S | re.M):
            hole = m.group(0)
            assert m.group(1) == m.group(2), f"{c}: the TODO and its stub name the same step\n{hole}"
            # What to write (and the calls it takes): the stub's own comment, or the TODO's list.
            assert re.search(r"//\s*\w|The step needs: \w+\(\)", hole), (
                f"{c}: the hole should say what to write\n{hole}")


def test_handout_readme_is_the_students_guide(fresh):
    readme = (fresh / "README.md").read_text()
    assert readme.startswith("# socketlab: write a TCP server and client in C"), readme[:200]
    lower = readme.lower()
    for word in MAINTAINER_WORDS:
        assert word not in lower, f"the student's guide mentions {word!r}"
    for must in ("make check LESSON=03", "make check", "TODO(step N)", "--pause", "--json",
                 "## How to hand in", "## The order of work", "\\x0a"):
        assert must in readme, f"the guide should explain {must!r}"
    assert ("tools/trace" in readme) == (fresh / "tools" / "trace").exists()
    for rel in ("grader/grader.mk", "mk/docker.mk", "mk/hardening.mk", "bench", "fuzz", "grader", "tests/grading", "grader/tests/alt"):
        assert not (fresh / rel).exists(), f"{rel} is the maintainers', not in the handout"


def test_make_help_lists_only_targets_that_work_there(fresh):
    r = make(fresh, "help")
    assert r.returncode == 0, r.stderr
    targets = set(re.findall(r"^\s+make(?: ([\w-]+))?", r.stdout, re.M))
    assert {"", "check", "clean", "help"} <= targets, r.stdout
    for kit_only in ("bench", "grade", "gradescope", "handout", "docker", "fuzz", "test-docker", "docs"):
        assert kit_only not in targets, f"make help lists {kit_only}, which is not for the handout"
    for t in targets - {""}:
        dry = make(fresh, "-n", t, timeout=60)
        assert dry.returncode == 0, f"make {t} is listed but does not exist here\n{dry.stderr}"


def test_check_rejects_an_unknown_lesson_with_usage(fresh):
    r = make(fresh, "check", "LESSON=99", timeout=120)
    assert r.returncode != 0
    assert "check: no lesson '99'" in r.stderr and "usage: make check [LESSON=NN]" in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fresh_handout_check_names_lesson_01_step_1(fresh):
    r = make(fresh, "check")
    assert r.returncode != 0
    assert "next: " + FIRST_HOLE["01-socket"] in r.stdout, r.stdout + r.stderr
    assert "lesson 02-bind" not in r.stdout, "make check stops at the first lesson not done"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_of_a_fresh_handout_fails_naming_its_new_step(fresh, lesson):
    r = make(fresh, "check", f"LESSON={lesson[:2]}")
    assert r.returncode != 0
    out = r.stdout
    if lesson in FIRST_HOLE:
        assert f"next: {FIRST_HOLE[lesson]}" in out, out + r.stderr
    else:
        m = re.search(rf"^next: lesson {lesson}, (?:(server|client) )?step (\d+): write it at "
                      rf"TODO\(step (\d+)\) in lessons/{lesson}/(server|client)\.c", out, re.M)
        assert m and m.group(2) == m.group(3), out + r.stderr
        kit = (ROOT / "lessons" / lesson / f"{m.group(4)}.c").read_text()
        assert int(m.group(2)) in {s for s, _, _ in handout.solution_regions(kit)}, out
    # One verdict per test, the failed ones with what happened.
    assert re.search(rf"^lesson {lesson}: \d+ of \d+ tests pass$", out, re.M), out
    assert re.search(r"^  FAIL ", out, re.M) and "happened: " in out, out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_check_reports_a_compile_error_and_never_tests_a_stale_program(fresh, tmp_path):
    tree = copy_of(fresh, tmp_path / "broken")
    assert make(tree, "-s").returncode == 0           # every program built once
    server = tree / "lessons" / "01-socket" / "server.c"
    server.write_text(server.read_text().replace("int main(", "int main(BROKEN", 1))
    r = make(tree, "check", "LESSON=01-socket")
    assert r.returncode != 0
    assert "lesson 01-socket: does not build" in r.stdout, r.stdout
    assert "lessons/01-socket/server.c:" in r.stdout and "error:" in r.stdout, r.stdout
    assert "tests pass" not in r.stdout, "a program that does not build is never tested"


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_reference_code_in_the_holes_passes_every_lesson(fresh, tmp_path):
    tree = copy_of(fresh, tmp_path / "solved")
    for c in (ROOT / "lessons").glob("*/*.c"):
        shutil.copy2(c, tree / c.relative_to(ROOT))
    r = make(tree, "check", timeout=1400)
    assert r.returncode == 0, r.stdout + r.stderr
    for lesson in LESSONS:
        assert re.search(rf"^lesson {lesson}: done - all \d+ tests pass$", r.stdout, re.M), r.stdout
    assert r.stdout.rstrip().endswith(f"all {len(LESSONS)} lessons done."), r.stdout


def key(line):
    """A line of C compared without its trailing comment and without spaces."""
    return "".join(re.sub(r"\s*(/\*.*?\*/|//.*)\s*$", "", line.strip()).split())


def test_no_file_of_the_handout_quotes_the_code_a_hole_asks_for(fresh):
    """Every text file, READMEs included: a hole's line (a call or an assignment)
    appears only where the handout gives it anyway - in its own lesson's
    files, or in the seed's code - never in its lesson's README, in an earlier
    lesson's or in any other text."""
    library = [f for d in ("src", "include", "tools") for f in (fresh / d).rglob("*.[ch]")]
    seed = {key(l) for f in [*(fresh / "tests" / "seed").glob("*"), *library]
            for l in f.read_text(errors="replace").split("\n")}
    holes, given = {}, {}
    for ldir in sorted((ROOT / "lessons").glob("[0-9][0-9]-*")):
        n = int(ldir.name[:2])
        given[n] = set(seed)
        for c in ldir.glob("*.c"):
            given[n].update(key(l) for l in (fresh / c.relative_to(ROOT)).read_text().split("\n"))
            for _, _, body in handout.solution_regions(c.read_text(), str(c)):
                holes.update({key(l): n for l in body if len(key(l)) >= 8 and re.search(r"[(=]", key(l))
                              and not key(l).startswith(("/*", "*"))})
    holes = {k: n for k, n in holes.items() if k not in given[n]}
    assert len(holes) > 40, "the holes should hold the lessons' socket calls"
    leaks = []
    for f in sorted(p for p in fresh.rglob("*") if p.is_file() and "build" not in p.parts):
        rel = str(f.relative_to(fresh))
        text = f.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, rel
        m = re.match(r"lessons/(\d\d)-", rel)
        mine = int(m.group(1)) if m else None
        for line in text.split("\n"):
            k = key(line)
            n = holes.get(k)
            if n is None or (mine is not None and (n < mine or k in given[mine])):
                continue                # an earlier lesson's step, complete in this lesson's files
            if rel.endswith(".c") and mine == n and "TODO" not in line:
                continue                # (cannot happen: the holes are cut; kept for clarity)
            leaks.append(f"{rel}: {line.strip()} (lesson {n:02d}'s hole)")
    assert not leaks, "the handout gives away holes:\n" + "\n".join(leaks[:20])


MAKE_RE = re.compile(r"`(?:[A-Z_]+=\S+ )*make ((?:[a-z][\w-]*)(?: [A-Z_]+=\S+)*)`|^\s*(?:\$ )?(?:[A-Z_]+=\S+ )*"
                     r"make ([a-z][\w-]*(?: [A-Z_]+=\S+)*)", re.M)
KIT_ONLY_WORDS = ("full kit", "完整套件")


def test_every_make_command_the_handout_names_exists_there_or_is_marked_the_kits(fresh):
    named = {}
    for f in sorted(fresh.rglob("*.md")):
        text = f.read_text()
        for m in MAKE_RE.finditer(text):
            target = (m.group(1) or m.group(2)).split(" ")[0]
            named.setdefault(target, set()).add((str(f.relative_to(fresh)), text))
    assert {"check", "demo", "timeline"} <= set(named), sorted(named)
    missing = []
    for target, where in sorted(named.items()):
        if make(fresh, "-n", target, timeout=60).returncode == 0:
            continue
        for rel, text in where:
            if not any(w in text for w in KIT_ONLY_WORDS):
                missing.append(f"{rel} names `make {target}`, which the handout has not")
    assert not missing, "\n".join(missing)
    assert "bench-load" in named and make(fresh, "-n", "bench-load", timeout=60).returncode != 0
    assert not (fresh / "tests" / "test_loadgen.py").exists(), "its load client (bench/) is the kit's"


def test_a_lesson_readme_sends_to_no_make_target_of_a_later_lesson(fresh):
    """make demo and make fault-demo run lesson 06's programs: a README before
    06 that names them says they need lesson 06."""
    for n in range(1, 6):
        for readme in fresh.glob(f"lessons/{n:02d}-*/README*.md"):
            for line in readme.read_text().split("\n"):
                if re.search(r"\bmake (fault-)?demo\b", line):
                    assert re.search(r"lesson 06|第06课", line), f"{readme}: {line}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_make_demo_in_the_handout_points_to_make_check(fresh, tmp_path):
    tree = copy_of(fresh, tmp_path / "demo")
    for c in (ROOT / "lessons" / "06-close").glob("*.c"):
        shutil.copy2(c, tree / c.relative_to(ROOT))
    r = make(tree, "demo", timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Run 'make check' to check your lessons." in r.stdout, r.stdout[-500:]
