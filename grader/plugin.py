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
"""
import json
import re
import time
from pathlib import Path

import pytest

MAX_OUTPUT = 4000
MAX_REPORT = 64 * 1024      # characters of one failure kept in junit.xml and pytest's log
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


def pytest_collection_finish(session):
    path = session.config.getoption("--grade-collect")
    if path:
        Path(path).write_text(json.dumps([
            {"nodeid": i.nodeid, "lesson": lesson_of(i), "test": i.name, "max_score": points_of(i)}
            for i in session.items], indent=1) + "\n")


def lesson_of(item):
    m = item.get_closest_marker("lesson")
    if m and m.args:
        return str(m.args[0])
    found = LESSON_RE.search(str(item.fspath).replace("\\", "/"))
    return found.group(1) if found else "other"


def points_of(item):
    m = item.get_closest_marker("points")
    return float(m.args[0]) if m and m.args else 0.0


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
    parts = [said[:240]] + ([check[:240]] if check and check != said else [])
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
        elif report.skipped and r["outcome"] == "passed":
            r["outcome"] = "skipped"
            r["output"] = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""

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
        passed = r["outcome"] == "passed"
        text = ""
        note = self.note(r["lesson"])
        if not passed:
            head = headline(r["lesson"], r["output"] + note)
            parts = [p for p in (head, note.strip(), r["crash"].strip()) if p]
            if r["outcome"] == "skipped":
                parts.append("skipped: " + r["output"])
            text = "\n\n".join(parts)
            if r["output"] and r["outcome"] == "failed":
                text += "\n\n--- details\n" + r["output"]
            if len(text) > MAX_OUTPUT:
                text = text[:MAX_OUTPUT] + "\n[... cut]"
        return {
            "name": f"{r['lesson']}: {r['test']}",
            "score": r["max_score"] if passed else 0.0,
            "max_score": r["max_score"],
            "status": "passed" if passed else "failed",
            "output": text,
            "visibility": "visible",
            "extra_data": {"lesson": r["lesson"], "nodeid": nodeid,
                           "headline": (headline(r["lesson"], r["output"] + note) or self.build_summary(r["lesson"])
                                        or crash_summary(r["crash"])) if not passed else ""},
        }


class CutRepr:
    """A failure report cut to MAX_REPORT characters (head and tail), its
    one-line crash message too: what a flooding program printed into an
    assertion's message cannot grow junit.xml or the log without bound."""

    def __init__(self, text, crash):
        self.text = cut_middle(text, MAX_REPORT)
        self.reprcrash = crash

    def __str__(self):
        return self.text

    def toterminal(self, tw):
        tw.line(self.text)


class _Crash:
    def __init__(self, crash):
        self.path, self.lineno = getattr(crash, "path", ""), getattr(crash, "lineno", 0)
        self.message = cut_middle(getattr(crash, "message", ""), MAX_OUTPUT)


def cut_middle(text, cap):
    if len(text) <= cap:
        return text
    return f"{text[:cap // 2]}\n[... {len(text) - cap} characters cut by the grader ...]\n{text[-cap // 2:]}"


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    """Innermost, so every other hook (and junit.xml) sees the cut report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.longrepr is not None:
        text = report.longreprtext
        if len(text) > MAX_REPORT:
            crash = getattr(report.longrepr, "reprcrash", None)
            report.longrepr = CutRepr(text, _Crash(crash) if crash else None)


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


def table(tests, lesson_max=None):
    """The score table: one row per lesson, then its failed tests, indented."""
    lessons = {}
    for t in tests:
        lessons.setdefault(t["extra_data"]["lesson"], []).append(t)
    for lesson in (lesson_max or {}):
        lessons.setdefault(lesson, [])
    lines = [f"{'lesson':<16} {'score':>9}   failed tests (what was expected, what was seen)",
             "-" * 78]
    total = total_max = 0.0
    for lesson in sorted(lessons):
        ts = lessons[lesson]
        score = sum(t["score"] for t in ts)
        mx = sum(t["max_score"] for t in ts) or (lesson_max or {}).get(lesson, 0)
        total += score
        total_max += mx
        lines.append(f"{lesson:<16} {fmt_points(score):>4}/{fmt_points(mx):<4}")
        for t in ts:
            if t["status"] != "passed":
                name = t["name"].split(": ", 1)[-1]
                why = t["extra_data"]["headline"] or "(no message)"
                lines.append(f"    - {name} (-{fmt_points(t['max_score'])})")
                lines.append(f"        {why[:300]}")
    lines.append("-" * 78)
    lines.append(f"{'total':<16} {fmt_points(total):>4}/{fmt_points(total_max):<4}")
    return lines
