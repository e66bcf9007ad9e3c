"""test_feedback.py - what the grader tells a student and an instructor.

A test the grader's machine cannot run costs nothing and is reported as the
grader's problem; a lesson nothing of which is written earns nothing; the
table gives whole messages; grade-all writes a feedback.md per student and
a similarity report that finds two students sharing code; the reference
scores full marks in Docker as it does locally.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from grader import feedback, handout, plugin  # noqa: E402
from grader.handout import LESSON_POINTS  # noqa: E402

PY = sys.executable

FAKE_TESTS = '''
import pytest

@pytest.mark.lesson("01-fake")
@pytest.mark.points(1)
def test_usage_is_checked_by_the_kit():
    """step 1 (socket): a usage error before any socket."""

@pytest.mark.lesson("01-fake")
@pytest.mark.points(2)
def test_needs_what_the_grader_lacks():
    pytest.skip("this host has no IPv6 loopback (::1)")

@pytest.mark.lesson("01-fake")
@pytest.mark.points(3)
def test_fails_with_a_long_message():
    """step 1 (socket): a TCP socket."""
    assert False, "step 1 (socket): expected " + "a very long explanation " * 12 + "THE END"
'''


def fake_tree(tmp_path, server_c):
    """A grading tree in miniature: kit.json with one lesson whose server has
    hole 1 and whose stub is STUBBED."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    lesson(name): l\n    points(n): p\n")
    (tmp_path / "kit.json").write_text(json.dumps({"lessons": {"01-fake": {
        "programs": ["server"], "points": 6, "holes": {"server": [1]},
        "stubs": {"server": hashlib.sha256(STUBBED.encode()).hexdigest()}}}}))
    tests = tmp_path / "lessons" / "01-fake" / "tests"
    tests.mkdir(parents=True)
    (tests / "test_fake.py").write_text(FAKE_TESTS)
    (tmp_path / "lessons" / "01-fake" / "server.c").write_text(server_c)
    out = tmp_path / "results.json"
    r = subprocess.run([PY, "-m", "pytest", "-q", "-p", "grader.plugin", "-p", "no:cacheprovider",
                        f"--grade-json={out}", "lessons"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.exists(), r.stdout + r.stderr
    return {t["name"].split(": ")[1]: t for t in json.loads(out.read_text())["tests"]}


STUBBED = "int main(void) {\n    /* not_implemented(2) in a comment is no hole */\n    not_implemented(1);\n}\n"
WRITTEN = "int main(void) {\n    /* TODO(step 1) done: no not_implemented(1); left */\n    return socket_it();\n}\n"


def test_a_skipped_test_counts_nowhere_and_says_it_is_the_graders_problem(tmp_path):
    tests = fake_tree(tmp_path, WRITTEN)
    t = tests["test_needs_what_the_grader_lacks"]
    assert (t["score"], t["max_score"]) == (0, 0)
    assert t["extra_data"]["not_run"] == "this host has no IPv6 loopback (::1)"
    assert "grader's problem" in t["output"] and "2 points left out" in t["output"], t["output"]
    lines = plugin.table(list(tests.values()))
    text = "\n".join(lines)
    assert re.search(r"^01-fake\s+1/4\s*$", text, re.M), text           # 1 of (1 + 3): the skip is out
    assert "test_needs_what_the_grader_lacks (not run here, not counted)" in text, text
    assert "(no message)" not in text and "(-2)" not in text, text
    assert "could not run on this grader" in text and "this host has no IPv6 loopback" in text, text


def test_the_table_gives_whole_messages_wrapped(tmp_path):
    tests = fake_tree(tmp_path, WRITTEN)
    lines = plugin.table(list(tests.values()))
    assert all(len(l) <= plugin.TABLE_WIDTH for l in lines), "\n".join(lines)
    text = " ".join(l.strip() for l in lines)
    assert "THE END" in text and "..." not in text, text


def test_a_lesson_with_no_hole_written_earns_nothing_for_what_the_kit_does(tmp_path):
    tests = fake_tree(tmp_path, "/* my notes */\n" + STUBBED)        # edited, but no step written
    t = tests["test_usage_is_checked_by_the_kit"]
    assert (t["score"], t["status"]) == (0, "failed"), t
    assert "This test passed" in t["output"], t
    assert "write step 1 at TODO(step 1) in lessons/01-fake/server.c" in t["extra_data"]["headline"], t
    assert plugin.holes_left(tmp_path, "01-fake", ["server"]) == {1}


def test_an_untouched_lesson_is_not_run_and_fails_naming_the_step_to_write(tmp_path):
    tests = fake_tree(tmp_path, STUBBED)
    assert set(tests) == {"test_usage_is_checked_by_the_kit", "test_needs_what_the_grader_lacks",
                          "test_fails_with_a_long_message"}
    for t in tests.values():
        assert (t["score"], t["status"]) == (0, "failed"), t
        assert "its tests were not run" in t["output"], t
        assert t["extra_data"]["headline"].endswith("write step 1 at TODO(step 1) in lessons/01-fake/server.c")
    # One character changed: run, though still scored 0 with every hole stubbed.
    tests = fake_tree(tmp_path / "edited", STUBBED + "\n")
    t = tests["test_fails_with_a_long_message"]
    assert "its tests were not run" not in t["output"] and "THE END" in t["output"], t
    assert tests["test_needs_what_the_grader_lacks"]["extra_data"]["not_run"]


def test_a_lesson_with_its_hole_written_earns_its_passing_tests(tmp_path):
    tests = fake_tree(tmp_path, WRITTEN)
    t = tests["test_usage_is_checked_by_the_kit"]
    assert (t["score"], t["status"]) == (1, "passed"), t
    assert plugin.holes_left(tmp_path, "01-fake", ["server"]) == set()


def test_grade_json_reports_a_test_not_run_as_a_grader_problem(tmp_path):
    sys.path.insert(0, str(ROOT / "grader"))
    import grade as grademod
    tests = list(fake_tree(tmp_path / "tree", WRITTEN).values())
    out = tmp_path / "out"
    out.mkdir()
    summary = {"01-fake": {"build_error": "", "tests": tests, "junit": []}}
    args = type("Args", (), {"quiet": True})()
    grademod.write_results(out, summary, {"01-fake": {"points": 6}}, "ok", 1.0, args)
    g = json.loads((out / "grade.json").read_text())
    assert g["status"].startswith("grader problem: 1 test not run here (01-fake: "
                                  "test_needs_what_the_grader_lacks: this host has no IPv6 loopback"), g
    assert g["not_run"] == [{"test": "01-fake: test_needs_what_the_grader_lacks",
                             "why": "this host has no IPv6 loopback (::1)", "points": 2}]
    assert g["graded_max"] == {"01-fake": 4} and g["score"] == 1
    md = feedback.feedback_md("ann", g, json.loads((out / "results.json").read_text()))
    assert "**Score: 1 of 4**" in md and "## Not run (not counted)" in md, md
    assert "### 01-fake: `test_fails_with_a_long_message` (-3)" in md and "THE END" in md, md


def lesson_files(tree, lessons=None):
    return {str(c.relative_to(tree)): c.read_bytes() for c in Path(tree).glob("lessons/*/*.c")
            if lessons is None or c.parent.name in lessons}


def put(folder, files):
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


@pytest.fixture(scope="module")
def scratch():
    d = Path(tempfile.mkdtemp(prefix="socketlab-feedback-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_grade_all_writes_feedback_per_student_and_finds_two_students_sharing_code(scratch):
    """alice wrote lessons 01-05 (the reference); bob copied her and renamed
    variables; carol handed in the untouched handout; erin wrote lesson 05's
    server her own way. similarity.md names alice and bob, with the lines
    they share, and no one else; each student has a feedback.md."""
    if shutil.which("sim_c") is None:
        pytest.fail("sim_c is missing: apt-get install similarity-tester (.ci/run installs it)")
    klass = scratch / "class"
    stub = lesson_files(handout.make_handout(scratch / "handout"))
    ref = lesson_files(ROOT, {"01-socket", "02-bind", "03-listen", "04-accept", "05-send-recv"})
    renamed = {k: v.replace(b"clientfd", b"conn").replace(b"listenfd", b"lfd").replace(b"buffer", b"buf")
               for k, v in ref.items()}
    put(klass / "alice", {**stub, **ref})
    put(klass / "bob", {**stub, **renamed})
    put(klass / "carol", stub)
    put(klass / "erin", {**stub, "lessons/05-send-recv/server.c":
                         (ROOT / "grader/tests/alt/05-send-recv-server.c").read_bytes()})
    out = scratch / "grade-all"
    r = subprocess.run([PY, str(ROOT / "grader" / "grade_all.py"), str(klass), "--out", str(out), "--docker",
                        "no", "--lesson", "01-socket", "--jobs", "2"], capture_output=True, text=True, timeout=500)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "similarity: 1 pair of students" in r.stdout, r.stdout
    sim = (out / "similarity.md").read_text()
    assert re.search(r"^\| alice and bob \| \d+ % \|", sim, re.M), sim
    assert "carol" not in sim.split("## ")[0].split("|", 1)[-1] and "erin and" not in sim and "and erin" not in sim
    shared = sim.split("## alice and bob")[1]
    assert "lessons/05-send-recv/server.c" in shared and "recv(" in shared, shared
    # The handout's own lines are not what makes them alike.
    assert "parse_server_args(argc, argv, ABOUT" not in shared, shared
    for student in ("alice", "bob", "carol", "erin"):
        md = (out / student / "feedback.md").read_text()
        assert md.startswith(f"# socketlab: feedback for {student}") and "```text\nlesson" in md, md
    carol = (out / "carol" / "feedback.md").read_text()
    assert "**Score: 0 of 10**" in carol and "## What to fix" in carol, carol
    assert "write step 1 at TODO(step 1) in lessons/01-socket/server.c" in carol or \
        "step 1 not implemented yet" in carol, carol
    assert "Every test passed." in (out / "alice" / "feedback.md").read_text()


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("mode", ["docker", "local"])
def test_reference_scores_full_marks_with_every_test_run(scratch, mode):
    """No point lost to the grader's machine: 160 of 160, no test left out
    (lesson 06's IPv6 test runs in the container too)."""
    if mode == "docker" and not docker_available():
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    out = scratch / f"ref-{mode}"
    r = subprocess.run([PY, str(ROOT / "grader" / "grade.py"), str(ROOT), "--out", str(out), "--docker",
                        "yes" if mode == "docker" else "no", "--quiet"], capture_output=True, text=True,
                       timeout=1400)
    assert r.returncode == 0, r.stderr
    g = json.loads((out / "grade.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert g["not_run"] == [] and g["status"] == "ok", g
    assert results["score"] == sum(LESSON_POINTS.values()) == 160, results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == 160
    ipv6 = [t for t in results["tests"] if "ipv6" in t["name"]]
    assert ipv6 and all(t["status"] == "passed" and t["max_score"] > 0 for t in ipv6), ipv6


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_untouched_handout_scores_zero(scratch):
    """Not one point for the stubs: the tests the kit's own argument parsing
    passes give nothing until the lesson's steps are written."""
    tree = handout.make_handout(scratch / "untouched")
    out = scratch / "untouched-grade"
    r = subprocess.run([PY, str(ROOT / "grader" / "grade.py"), str(tree), "--out", str(out), "--docker", "no",
                        "--quiet"], capture_output=True, text=True, timeout=800)
    assert r.returncode == 0, r.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 0, results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == 160
    assert "(no message)" not in results["output"]
    assert all(t["extra_data"]["headline"] for t in results["tests"]), textwrap.shorten(results["output"], 2000)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_lesson_handed_in_byte_for_byte_by_classmates_is_graded_once(scratch):
    """Three students, lesson 01 the same byte for byte, lesson 02 apart:
    graded three at a time, lesson 01 runs once and the others take its
    result (waiting for it when it is running); --no-cache runs every one."""
    klass = scratch / "same"
    ref = lesson_files(ROOT, {"01-socket", "02-bind"})
    for n, student in enumerate(("ann", "ben", "cy")):
        files = dict(ref)
        files["lessons/02-bind/server.c"] = ref["lessons/02-bind/server.c"] + f"/* {student} */\n".encode() * n
        put(klass / student, files)
    out = scratch / "same-out"
    cmd = [PY, str(ROOT / "grader" / "grade_all.py"), str(klass), "--out", str(out), "--docker", "no",
           "--lesson", "01-socket", "--lesson", "02-bind", "--jobs", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=500)
    assert r.returncode == 0, r.stdout + r.stderr
    graded = {s: json.loads((out / s / "grade.json").read_text()) for s in ("ann", "ben", "cy")}
    reused = [s for s, g in graded.items() if g.get("same_as_graded_before") == ["01-socket"]]
    assert len(reused) == 2, {s: g.get("same_as_graded_before") for s, g in graded.items()}
    for g in graded.values():
        assert (g["score"], g["status"]) == (25, "ok"), g
    results = [json.loads((out / s / "results.json").read_text()) for s in ("ann", "ben", "cy")]
    assert len({json.dumps([(t["name"], t["score"]) for t in r["tests"]]) for r in results}) == 1
    r = subprocess.run(cmd + ["--force", "--no-cache"], capture_output=True, text=True, timeout=500)
    assert r.returncode == 0, r.stdout + r.stderr
    for s in ("ann", "ben", "cy"):
        g = json.loads((out / s / "grade.json").read_text())
        assert not g.get("same_as_graded_before") and g["score"] == 25, g
