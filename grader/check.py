#!/usr/bin/env python3
"""check.py - `make check`: is my lesson done? (tools/check.py in the handout)

    make check               the lessons in order; stops at the first one not done
                             and says which lesson and step to write next
    make check LESSON=03     build, then check lesson 03 only (03, 3 or 03-listen)

Each lesson is built first (make, for that lesson's programs: a compiler
error stops the check and is shown as the compiler said it; a program is
never tested stale), then its tests run in one pytest run, and each test
gets a short verdict: which step, what was expected, what happened.
Exit status: 0 every checked lesson passes, 1 one does not (or does not
build), 2 usage error.

The same file is the pytest plugin that collects the verdicts
(`-p check`, with tools/ on PYTHONPATH). Python 3 standard library and pytest.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LAB_BUILD", ROOT / "build"))
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]-*") if p.is_dir())
STUB_RE = re.compile(r"(server|client): step (\d+) not implemented yet")
STEP_RE = re.compile(r"^\s*(?:(server|client) )?step (\d+)(?: \([^)]*\))?:\s*")
HARNESS_RE = re.compile(r"never appeared on \w+ \(exit (?P<wait>[^)]*)\)|did not exit within|is missing: run 'make'")
EXCEPTION_RE = re.compile(r"^[A-Z]\w*(Error|Exception|Timeout|Expired)\b")
PROGRAM_SAID_RE = re.compile(r"^(?:server|client): (?!hint:).*$", re.M)
PYTHON = os.environ.get("CHECK_PYTHON", sys.executable)
WIDTH = 100             # verdict lines are cut to about this many characters


def usage(msg=None):
    if msg:
        print(f"check: {msg}", file=sys.stderr)
    print("usage: make check [LESSON=NN]   (NN: " + ", ".join(LESSONS) + ")", file=sys.stderr)
    return 2


def find_lesson(text):
    """'03', '3', '03-listen' or 'listen' -> '03-listen' (None if no such lesson)."""
    text = text.strip().strip("/").removeprefix("lessons/")
    for lesson in LESSONS:
        num, name = lesson.split("-", 1)
        if text in (lesson, num, name) or (text.isdigit() and int(text) == int(num)):
            return lesson
    return None


def make_env():
    """The environment for make: the parent make's flags (SAN=1, V=1) but
    not its jobserver, whose pipes a child of Python does not inherit."""
    env = dict(os.environ)
    flags = env.get("MAKEFLAGS", "")
    flags = re.sub(r"--jobserver-(auth|fds)=\S+|(^|\s)-j\d*", " ", flags).strip()
    env["MAKEFLAGS"] = flags
    env.pop("MAKELEVEL", None)
    return env


def programs(lesson):
    return [str((BUILD / lesson / c.stem).relative_to(ROOT)) if BUILD.is_relative_to(ROOT)
            else str(BUILD / lesson / c.stem)
            for c in sorted((ROOT / "lessons" / lesson).glob("*.c"))]


def build_all():
    """Build what the tests need beside the lessons (the library, libfault.so).
    A lesson that does not compile is reported when it is checked, so this
    keeps going (-k) and says nothing."""
    subprocess.run(["make", "-s", "-k", "--no-print-directory"], cwd=ROOT, env=make_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def build_lesson(lesson):
    """make the lesson's programs; (ok, what make and the compiler said)."""
    r = subprocess.run(["make", "-s", "--no-print-directory", *programs(lesson)], cwd=ROOT, env=make_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    return r.returncode == 0, r.stdout


def run_tests(lesson):
    """One pytest run over the lesson's tests; a list of result dicts (see the
    plugin below), or (None, pytest's output) when pytest itself failed."""
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        results = Path(tmp) / "results.json"
        env = dict(os.environ, CHECK_RESULTS=str(results), LAB_BUILD=str(BUILD),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tools"), os.environ.get("PYTHONPATH")])))
        r = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "check", "-p", "no:cacheprovider",
                            f"lessons/{lesson}/tests"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        if not results.exists():
            return None, r.stdout
        return json.loads(results.read_text()), r.stdout


def cut(text, width=WIDTH):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def step_of(result):
    """'step 3', 'client step 2' (from the test's docstring or message), or None."""
    for text in (result["doc"], result["message"].removeprefix("AssertionError: ")):
        m = STEP_RE.match(text or "")
        if m:
            return f"{m.group(1) + ' ' if m.group(1) else ''}step {m.group(2)}"
    return None


def step_number(label):
    return int(label.rsplit(" ", 1)[1]) if label else None


def verdict(lesson, r):
    """The lines that say what one failed test expected and what happened."""
    lines = []
    message = r["message"].removeprefix("AssertionError: ").strip()
    first = message.split("\n", 1)[0]
    crashed = not r["message"].startswith("AssertionError") and EXCEPTION_RE.match(first)
    harness = HARNESS_RE.search(first)          # the harness's own words: what it waited for
    if crashed or harness or first.startswith(("assert ", "<")) or not first:     # or a bare assert, or a repr
        expected = STEP_RE.sub("", r["doc"].split("\n")[0]) if r["doc"] else r["test"]
    else:
        expected = STEP_RE.sub("", first)
    if cut(expected) != cut(STEP_RE.sub("", r["doc"].split("\n")[0])):    # not what the headline says
        lines.append(f"expected: {cut(expected)}")
    stub = STUB_RE.search(r["output"])
    if stub:
        prog, step = stub.group(1), stub.group(2)
        lines.append(f"happened: the {prog} stopped at TODO(step {step}) in lessons/{lesson}/{prog}.c "
                     f"(\"step {step} not implemented yet\")")
        return lines
    said = [m.group(0) for m in PROGRAM_SAID_RE.finditer(r["output"])
            if "not implemented" not in m.group(0)]
    check = [l.strip() for l in message.split("\n") if l.strip().startswith("assert ")]
    if crashed:
        lines.append(f"happened: {cut(first)}")
    elif harness and harness.group("wait"):
        lines.append(f"happened: the program ended (exit {harness.group('wait')}) before printing what "
                     f"the test waits for")
        return lines
    elif harness:
        lines.append(f"happened: {cut(first)}")
        return lines
    if said:
        label = "said:    " if crashed else "happened:"
        lines.append(f"{label} {cut(said[-1], WIDTH + 20)}")
    # pytest's view of the failed comparison, when it compares something.
    check = [c for c in check if re.search(r"==|!=| in |<|>", c)]
    if check:
        lines.append(f"check:    {cut(check[-1])}")
    if not said and not check and not crashed:
        rest = [l for l in message.split("\n")[1:] if l.strip() and not l.startswith("---")]
        what = rest[0] if rest else (r["crash_type"] or "the test failed")
        lines.append(f"happened: {cut(what)}")
    return lines


def check_lesson(lesson, verbose):
    """Build and test one lesson, print verdicts; (passed, next step or None)."""
    ok, said = build_lesson(lesson)
    if not ok:
        print(f"lesson {lesson}: does not build. The compiler said:")
        print("\n".join("  " + l for l in said.rstrip().split("\n")[-30:]))
        where = re.search(r"(lessons/[\w-]+/\w+\.c):(\d+)", said)
        print(f"fix the build first{f' ({where.group(1)} line {where.group(2)})' if where else ''}, "
              f"then: make check LESSON={lesson[:2]}")
        return False, None
    results, output = run_tests(lesson)
    if results is None:
        print(f"lesson {lesson}: the tests could not run. pytest said:")
        print("\n".join("  " + l for l in output.rstrip().split("\n")[-20:]))
        return False, None
    if not results:
        print(f"lesson {lesson}: no tests found")
        return False, None
    failed = [r for r in results if r["outcome"] == "failed"]
    passed = [r for r in results if r["outcome"] == "passed"]
    if not failed and not verbose:
        print(f"lesson {lesson}: done - all {len(passed)} tests pass")
        return True, None
    print(f"lesson {lesson}: {len(passed)} of {len(results)} tests pass")
    for r in results:
        step = step_of(r)
        label = f"{step}: " if step else ""
        about = (r["doc"].split("\n")[0] if r["doc"] else r["test"])
        about = cut(STEP_RE.sub("", about), WIDTH - 14)
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[r["outcome"]]
        print(f"  {mark} {label}{about}")
        if r["outcome"] == "failed":
            for line in verdict(lesson, r):
                print(f"            {line}")
        elif r["outcome"] == "skipped" and r["message"]:
            print(f"            {cut(r['message'])}")
    if not failed:
        return True, None
    # The server's holes first (the README's order), then the client's.
    stubs = sorted({(m.group(1) != "server", int(m.group(2)), m.group(1))
                    for r in failed for m in STUB_RE.finditer(r["output"])})
    if stubs:
        _, step, prog = stubs[0]
        role = f"{prog} " if (ROOT / "lessons" / lesson / "client.c").exists() else ""
        nxt = (f"next: lesson {lesson}, {role}step {step}: write it at TODO(step {step}) in "
               f"lessons/{lesson}/{prog}.c")
        others = [f"{p} step {s}" for _, s, p in stubs[1:]]
        return False, nxt + (f" (then: {', '.join(others)})" if others else "")
    steps = sorted((s for s in (step_of(r) for r in failed) if s), key=step_number)
    where = steps[0] if steps else "the failures above"
    return False, f"next: lesson {lesson}: fix {where} (see the verdicts above), then: make check LESSON={lesson[:2]}"


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        if len(argv) == 2:
            print(__doc__.split("\n\n")[1])
            return 0
        return usage("give at most one lesson")
    if not LESSONS:
        return usage("no lessons/ here: run it from the handout's top directory")
    if subprocess.run([PYTHON, "-c", "import pytest"], capture_output=True).returncode != 0:
        print(f"check: {PYTHON} has no pytest, which runs the lessons' tests; install it with\n"
              "  sudo apt-get install python3-pytest python3-pytest-timeout strace", file=sys.stderr)
        return 1
    lessons = LESSONS
    if len(argv) == 2 and argv[1].strip():
        one = find_lesson(argv[1])
        if one is None:
            return usage(f"no lesson '{argv[1]}'")
        lessons = [one]
    build_all()
    for lesson in lessons:
        done, nxt = check_lesson(lesson, verbose=len(lessons) == 1)
        if not done:
            if nxt:
                print(nxt)
            return 1
    if len(lessons) > 1:
        print(f"all {len(lessons)} lessons done.")
    return 0


# --- the pytest plugin (-p check): one result per test, into $CHECK_RESULTS ---

_results = {}


def _record(item, report):
    r = _results.setdefault(item.nodeid, {
        "test": item.name, "doc": (getattr(item.obj, "__doc__", None) or "").strip(),
        "outcome": "passed", "message": "", "crash_type": "", "output": ""})
    if report.failed and r["outcome"] != "failed":
        r["outcome"] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        r["message"] = crash.message if crash else str(report.longrepr)[-2000:]
        r["crash_type"] = r["message"].split(":", 1)[0] if crash else ""
        r["output"] = report.longreprtext[-20000:]
        lab = getattr(item, "funcargs", {}).get("lab")
        for proc in getattr(lab, "procs", []) or []:
            try:
                r["output"] += "\n" + proc.stderr[-20000:]
            except Exception:       # a harness without .stderr: nothing to add
                pass
    elif report.skipped and r["outcome"] == "passed":
        r["outcome"] = "skipped"
        r["message"] = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""


try:
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        _record(item, outcome.get_result())

    def pytest_sessionfinish(session, exitstatus):
        path = os.environ.get("CHECK_RESULTS")
        if path and exitstatus in (0, 1):
            order = [i.nodeid for i in session.items if i.nodeid in _results]
            Path(path).write_text(json.dumps([_results[n] for n in order], ensure_ascii=False))
except ImportError:             # run as a script by a Python without pytest
    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
