"""plugin.py - pytest plugin: points per test, Gradescope results, a score table.

Loaded with `-p grader.plugin` (tests/ on sys.path). Each test's points come
from `@pytest.mark.points(N)`, its lesson from `@pytest.mark.lesson("NN-x")`
(or from its path, lessons/NN-x/tests/). Options:

    --grade-json=FILE   write the tests in Gradescope's format to FILE
    --grade-note=FILE   text (such as a compiler error) put before the output
                        of every failed test
    --grade-note-dir=DIR  the same per lesson: DIR/<lesson>.note
    --grade-table       print the score table per lesson at the end
    --grade-jsonl=FILE  append each test's result to FILE as it finishes (and
                        {"start": nodeid} as it starts), so a harness killed
                        mid-run keeps what it graded (grader/sandbox.py)
    --grade-sandbox-uid=UID
                        after each test, kill every process of UID (the
                        student's programs, daemons included)

A failure that comes from a handout stub ("step 3 not implemented yet") is
headed with the lesson and the step, so a student sees what to write.

Two rules keep the score the student's own:
- a skipped test (the grader's machine lacks something, such as an IPv6
  loopback) is no loss: it counts neither in the score nor in the maximum,
  and is marked `extra_data.not_run` for the instructor (grade.py);
- a lesson none of whose holes is written yet (its files, in the grading
  tree, still call every `not_implemented(N)` that kit.json lists) earns no
  points, not even for the tests of the kit's own argument parsing that
  pass against the stubs.
"""
import json
import re
import textwrap
import time
from pathlib import Path

import pytest

MAX_OUTPUT = 4000
STUB_RE = re.compile(r"(server|client): step (\d+) not implemented yet")
LESSON_RE = re.compile(r"lessons/(\d\d-[\w-]+)/")


def pytest_addoption(parser):
    g = parser.getgroup("grading", "socketlab grading (grader/)")
    g.addoption("--grade-json", default=None, help="write Gradescope test results to this file")
    g.addoption("--grade-note", default=None, help="file whose text heads every failed test's output")
    g.addoption("--grade-table", action="store_true", help="print a score table per lesson")
    g.addoption("--grade-note-dir", default=None,
                help="folder of <lesson>.note files, each heading that lesson's failed tests")
    g.addoption("--grade-jsonl", default=None, help="append each finished test's result to this file")
    g.addoption("--grade-sandbox-uid", type=int, default=0,
                help="after each test, kill every process of this uid (as root)")
    g.addoption("--grade-collect", default=None,
                help="with --collect-only: write the tests (nodeid, lesson, points) to this file")


def listing(items):
    return [{"nodeid": i.nodeid, "lesson": lesson_of(i), "test": i.name, "max_score": points_of(i)}
            for i in items]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """When grading: the tests of a lesson handed in untouched (its files are
    the handout's stubs) are not run - they cannot earn a point (see
    lessons_not_started) - and are failed at once, naming the step to write."""
    grading = getattr(config, "_socketlab_grading", None)
    config._socketlab_listing = listing(items)
    if grading is None:
        return
    untouched = lessons_untouched(config.rootpath)
    skip = [i for i in items if lesson_of(i) in untouched]
    if skip:
        items[:] = [i for i in items if lesson_of(i) not in untouched]
        config.hook.pytest_deselected(items=skip)
        for i in skip:
            grading.not_started_result(i)


def pytest_collection_finish(session):
    path = session.config.getoption("--grade-collect")
    if path:
        found = getattr(session.config, "_socketlab_listing", None) or listing(session.items)
        Path(path).write_text(json.dumps(found, indent=1) + "\n")


def lesson_of(item):
    m = item.get_closest_marker("lesson")
    if m and m.args:
        return str(m.args[0])
    found = LESSON_RE.search(str(item.fspath).replace("\\", "/"))
    return found.group(1) if found else "other"


def points_of(item):
    m = item.get_closest_marker("points")
    return float(m.args[0]) if m and m.args else 0.0


C_NOISE_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', re.S)
HOLE_CALL_RE = re.compile(r"\bnot_implemented\s*\(\s*(\d+)\s*\)")


def holes_left(root, lesson, programs):
    """The steps the lesson's files still leave to their `not_implemented(N)`
    stub (calls in code, not in comments or strings)."""
    left = set()
    for prog in programs:
        try:
            code = C_NOISE_RE.sub(" ", (Path(root) / "lessons" / lesson / f"{prog}.c").read_text(errors="replace"))
        except OSError:
            continue
        left.update(int(n) for n in HOLE_CALL_RE.findall(code))
    return left


def lessons_not_started(root):
    """{lesson: first hole} for each lesson of the grading tree (kit.json's
    `holes`) whose files still stub every hole: nothing of it is written."""
    try:
        info = json.loads((Path(root) / "kit.json").read_text())["lessons"]
    except (OSError, ValueError, KeyError):
        return {}
    out = {}
    for lesson, i in info.items():
        holes = i.get("holes") or {}
        wanted = {s for steps in holes.values() for s in steps}
        if wanted and wanted <= holes_left(root, lesson, holes):
            prog, step = min(((p, s) for p, steps in holes.items() for s in steps),
                             key=lambda ps: (ps[0] != "server", ps[1]))
            out[lesson] = (prog, step)
    return out


def verdict_of(item, r):
    """make check's verdict on a failed test (grader/check.py): what was
    expected and what happened, said of the program, as ["expected: ...", ...]."""
    try:
        from grader import check
        rec = {"test": item.name, "doc": (getattr(item.obj, "__doc__", None) or "").strip(),
               "message": r["crash"] or r["output"][-2000:], "output": r["output"],
               "procs": check.programs_of(item)}
        return [f"{label} {text}" for label, text in check.verdict(r["lesson"], rec)]
    except Exception as e:          # a verdict is a help: its failure must not fail the grading
        return [f"(no verdict: {type(e).__name__}: {e})"]


def lessons_untouched(root):
    """The lessons of the grading tree whose every program with holes is the
    handout's stub, byte for byte (kit.json's `stubs`)."""
    import hashlib
    try:
        info = json.loads((Path(root) / "kit.json").read_text())["lessons"]
    except (OSError, ValueError, KeyError):
        return set()
    out = set()
    for lesson, i in info.items():
        stubs = i.get("stubs") or {}
        try:
            if stubs and all(hashlib.sha256((Path(root) / "lessons" / lesson / f"{prog}.c").read_bytes()).hexdigest()
                             == sha for prog, sha in stubs.items()):
                out.add(lesson)
        except OSError:
            continue
    return out


def fmt_points(x):
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def headline(lesson, text):
    """What went wrong, in one line: the stub's step, or the assertion's first line."""
    m = STUB_RE.search(text)
    if m:
        prog, step = m.group(1), m.group(2)
        return (f"lesson {lesson}: step {step} not implemented yet "
                f"(write it at TODO(step {step}) in lessons/{lesson}/{prog}.c)")
    return ""


TRACE_LINE_RE = re.compile(r"^\s*(AssertionError: )?\[(server|client)\]|^\s*$")


def crash_summary(crash):
    """The failure in a line or two: the test's own message and its `assert` (expected vs seen)."""
    lines = crash.split("\n")
    said = next((l.strip() for l in lines if not TRACE_LINE_RE.match(l)), "")
    check = next((l.strip() for l in lines if l.strip().startswith("assert ")), "")
    parts = [said] + ([check] if check and check != said else [])
    return " / ".join(p for p in parts if p)


class Grading:
    def __init__(self, config):
        self.config = config
        self.results = {}           # nodeid -> dict
        self.order = []
        self.started = time.monotonic()
        note = config.getoption("--grade-note")
        self.note_all = Path(note).read_text(errors="replace") if note and Path(note).exists() else ""
        self.note_dir = config.getoption("--grade-note-dir")
        self.not_started = lessons_not_started(config.rootpath)

    def note(self, lesson):
        """The text heading the lesson's failed tests: --grade-note, or NOTE_DIR/<lesson>.note."""
        if self.note_dir:
            f = Path(self.note_dir) / f"{lesson}.note"
            return f.read_text(errors="replace") if f.exists() else ""
        return self.note_all

    def record(self, item, report):
        r = self.results.get(item.nodeid)
        if r is None:
            r = self.results[item.nodeid] = {
                "lesson": lesson_of(item), "test": item.name, "nodeid": item.nodeid,
                "max_score": points_of(item), "outcome": "passed", "crash": "", "output": "",
                "duration": 0.0}
            self.order.append(item.nodeid)
        r["duration"] += report.duration
        if report.failed:
            r["outcome"] = "failed"
            if not r["output"]:
                crash = getattr(report.longrepr, "reprcrash", None)
                r["crash"] = crash.message if crash else ""
                text = report.longreprtext
                if report.when != "call":
                    text = f"(failed in {report.when})\n{text}"
                r["output"] = text
                r["verdict"] = verdict_of(item, r)
        elif report.skipped and r["outcome"] == "passed":
            r["outcome"] = "skipped"
            r["output"] = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""

    def not_started_result(self, item):
        """A test of an untouched lesson, failed without running (see test())."""
        self.results[item.nodeid] = {
            "lesson": lesson_of(item), "test": item.name, "nodeid": item.nodeid, "max_score": points_of(item),
            "outcome": "not started", "crash": "", "output": "", "duration": 0.0}
        self.order.append(item.nodeid)
        path = self.config.getoption("--grade-jsonl")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"test": self.test(item.nodeid)}, ensure_ascii=False) + "\n")

    def programs_said(self, item):
        """What the test's programs said when it failed (a stub's "step N not
        implemented yet" often never reaches the assertion's message)."""
        lab = getattr(item, "funcargs", {}).get("lab")
        r = self.results.get(item.nodeid)
        if lab is None or r is None or STUB_RE.search(r["output"]):
            return
        for proc in getattr(lab, "procs", []):
            try:
                m = STUB_RE.search(proc.stderr)
            except Exception:       # a harness without .stderr: nothing to add
                continue
            if m:
                r["output"] = f"{r['output']}\n\n--- the program said:\n{m.group(0)}"
                return

    def build_summary(self, lesson):
        """The compiler's complaint in one line, when the lesson did not build."""
        note = self.note(lesson)
        if not note.strip():
            return ""
        lines = note.strip().split("\n")
        error = next((l.strip() for l in lines if "error:" in l), "")
        return f"{lines[0].rstrip(':')}: {error}" if error else lines[0]

    def tests(self):
        return [self.test(nodeid) for nodeid in self.order]

    def test(self, nodeid):
        r = self.results[nodeid]
        lesson = r["lesson"]
        if r["outcome"] == "skipped":
            return self.not_run(nodeid, r)
        passed = r["outcome"] in ("passed", "not started")
        text = ""
        note = self.note(lesson)
        head = ""
        verdict = []
        if not passed:
            stub_or_build = headline(lesson, r["output"] + note) or self.build_summary(lesson)
            verdict = [] if stub_or_build else r.get("verdict", [])
            happened = [v.partition(": ")[2] for v in verdict if v.startswith("happened: ")]
            head = (stub_or_build or (happened[0] if happened else "") or
                    (verdict[0].partition(": ")[2] if verdict else "") or crash_summary(r["crash"])
                    or first_words(r["output"]))
            parts = [p for p in (headline(lesson, r["output"] + note), note.strip(), r["crash"].strip()) if p]
            text = "\n\n".join(parts)
            if r["output"]:
                text += "\n\n--- details\n" + r["output"]
            if len(text) > MAX_OUTPUT:
                text = text[:MAX_OUTPUT] + "\n[... cut]"
        elif lesson in self.not_started:
            # The kit's own code passed this test (argument parsing, say), or
            # the lesson is the handout's stub and its tests were not run: no
            # points before the student has written any step of the lesson.
            prog, step = self.not_started[lesson]
            passed = False
            head = (f"lesson {lesson}: not started, so no points yet: write step {step} at "
                    f"TODO(step {step}) in lessons/{lesson}/{prog}.c")
            text = head + ("\n\nThe lesson's files are the handout's, untouched: its tests were not run."
                           if r["outcome"] == "not started" else
                           "\n\nThis test passed, but what it checks is done by the kit's own code "
                           "until the lesson's steps are written.")
        return {
            "name": f"{lesson}: {r['test']}",
            "score": r["max_score"] if passed else 0.0,
            "max_score": r["max_score"],
            "status": "passed" if passed else "failed",
            "output": text,
            "visibility": "visible",
            "extra_data": {"lesson": lesson, "nodeid": nodeid, "headline": head,
                           **({"verdict": verdict} if verdict else {})},
        }

    def not_run(self, nodeid, r):
        """A skipped test: the grader's machine could not run it. Neither score
        nor maximum: it is the grader's problem, shown to the instructor."""
        why = " ".join(r["output"].removeprefix("Skipped: ").split()) or "skipped"
        return {
            "name": f"{r['lesson']}: {r['test']}",
            "score": 0.0,
            "max_score": 0.0,
            "status": "passed",
            "output": (f"Not run on this grader: {why}. This is the grader's problem, not yours: the test "
                       f"counts neither in your score nor in the maximum ({fmt_points(r['max_score'])} "
                       f"points left out), and your instructor is told."),
            "visibility": "visible",
            "extra_data": {"lesson": r["lesson"], "nodeid": nodeid, "headline": "",
                           "not_run": why, "points_left_out": r["max_score"]},
        }


def first_words(output):
    """The first line of a failure's report that says something, for a headline."""
    for line in output.split("\n"):
        line = line.strip()
        if line and not line.startswith(("(failed in", "def ", "@", ">", "_")):
            return line
    return "the test failed (its output has the details)"


def pytest_configure(config):
    if config.getoption("--grade-sandbox-uid"):
        config.pluginmanager.register(_Sandbox(config.getoption("--grade-sandbox-uid")), "socketlab-sandbox")
    if config.getoption("--grade-json") or config.getoption("--grade-table") or config.getoption("--grade-jsonl"):
        config._socketlab_grading = Grading(config)
        config.pluginmanager.register(_Hooks(config._socketlab_grading), "socketlab-grading-hooks")


class _Hooks:
    def __init__(self, grading):
        self.g = grading

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        self.g.record(item, report)
        if report.failed:
            self.g.programs_said(item)

    def pytest_runtest_logstart(self, nodeid, location):
        self.append({"start": nodeid})

    def pytest_runtest_logfinish(self, nodeid, location):
        if nodeid in self.g.results:
            self.append({"test": self.g.test(nodeid)})

    def append(self, record):
        path = self.g.config.getoption("--grade-jsonl")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def pytest_sessionfinish(self, session, exitstatus):
        path = self.g.config.getoption("--grade-json")
        if path:
            tests = self.g.tests()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps({
                "score": sum(t["score"] for t in tests),
                "execution_time": round(time.monotonic() - self.g.started, 1),
                "tests": tests}, indent=2, ensure_ascii=False) + "\n")

    def pytest_terminal_summary(self, terminalreporter):
        if self.g.config.getoption("--grade-table"):
            for line in table(self.g.tests()):
                terminalreporter.write_line(line)


class _Sandbox:
    """Every process of the student's uid is gone before the next test starts."""

    def __init__(self, uid):
        self.uid = uid

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item, nextitem):
        yield
        from grader.sandbox import kill_uid
        kill_uid(self.uid)


TABLE_WIDTH = 78


def wrapped(text, indent, rest=None, width=TABLE_WIDTH):
    """Whole text, wrapped at `width` with every line indented: never cut."""
    return textwrap.wrap(" ".join(text.split()), width, initial_indent=indent,
                         subsequent_indent=indent if rest is None else rest,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def table(tests, lesson_max=None):
    """The score table: one row per lesson, then its failed tests, indented,
    each with its whole message; tests the grader could not run are listed
    apart and counted nowhere."""
    lessons = {}
    for t in tests:
        lessons.setdefault(t["extra_data"]["lesson"], []).append(t)
    for lesson in (lesson_max or {}):
        lessons.setdefault(lesson, [])
    lines = [f"{'lesson':<16} {'score':>9}   failed tests (what was expected, what was seen)",
             "-" * TABLE_WIDTH]
    total = total_max = 0.0
    not_run = []
    for lesson in sorted(lessons):
        ts = lessons[lesson]
        score = sum(t["score"] for t in ts)
        mx = sum(t["max_score"] for t in ts) if ts else (lesson_max or {}).get(lesson, 0)
        total += score
        total_max += mx
        lines.append(f"{lesson:<16} {fmt_points(score):>4}/{fmt_points(mx):<4}")
        failed = [t for t in ts if t["status"] != "passed" and not t["extra_data"].get("not_run")]
        heads = {t["extra_data"]["headline"] for t in failed}
        if len(failed) > 1 and len(failed) == len(ts) and len(heads) == 1 and heads != {""} \
                and not any(t["extra_data"].get("verdict") for t in failed):
            # Every test failed for one reason (not started, does not compile): say it once.
            lines.append(f"    - all {len(failed)} tests (-{fmt_points(sum(t['max_score'] for t in failed))})")
            lines.extend(wrapped(heads.pop(), " " * 8))
            continue
        for t in ts:
            name = t["name"].split(": ", 1)[-1]
            if t["extra_data"].get("not_run"):
                not_run.append(t)
                lines.append(f"    - {name} (not run here, not counted)")
            elif t["status"] != "passed":
                lines.append(f"    - {name} (-{fmt_points(t['max_score'])})")
                verdict = t["extra_data"].get("verdict")
                if verdict:
                    for v in verdict:
                        label, _, text = v.partition(": ")
                        lines.extend(wrapped(text, f"{' ' * 8}{label + ':':<10}", " " * 18))
                else:
                    lines.extend(wrapped(t["extra_data"]["headline"] or first_words(t["output"]), " " * 8))
    lines.append("-" * TABLE_WIDTH)
    lines.append(f"{'total':<16} {fmt_points(total):>4}/{fmt_points(total_max):<4}")
    if not_run:
        lines.append("")
        lines.extend(wrapped(f"{len(not_run)} test{'s' if len(not_run) > 1 else ''} could not run on this "
                             f"grader and count{'' if len(not_run) > 1 else 's'} neither in the score nor in "
                             "the maximum (the grader's problem, reported to the instructor):", ""))
        for t in not_run:
            lines.extend(wrapped(f"- {t['name']}: {t['extra_data']['not_run']}", "  "))
    return lines
