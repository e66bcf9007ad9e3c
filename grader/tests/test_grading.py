"""test_grading.py - the handout hides every solution, the grader scores right.

The reference solution scores full marks (160); the handout builds warning-free, runs,
says which step is missing, and scores near 0; each buggy variant in
grader/mutants/ loses points in the lesson it belongs to; the Gradescope zip's
run_autograder writes a valid results.json on this machine.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from grader import handout, mutants  # noqa: E402
from grader.handout import LESSON_POINTS  # noqa: E402

PY = sys.executable
GRADE = ROOT / "grader" / "grade.py"


@pytest.fixture(scope="module")
def scratch():
    """A directory the grader's unprivileged user can enter (pytest's own
    tmp_path lives under a 0700 directory)."""
    d = Path(tempfile.mkdtemp(prefix="socketlab-grading-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def handout_dir(scratch):
    return handout.make_handout(scratch / "handout")


def grade(tree, out, *args):
    r = subprocess.run([PY, str(GRADE), str(tree), "--out", str(out), "--docker", "no", "--quiet", *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads((out / "results.json").read_text())


def lesson_score(results, lesson):
    ts = [t for t in results["tests"] if t["extra_data"]["lesson"] == lesson]
    return sum(t["score"] for t in ts), sum(t["max_score"] for t in ts)


def test_every_lesson_program_has_solution_regions_with_a_step_stub():
    # Lessons 08-10 have no client.c: they run lesson 07's (the Makefile).
    for c in sorted((ROOT / "lessons").glob("*/*.c")):
        regions = handout.solution_regions(c.read_text(), str(c))
        assert regions, f"{c}: no /* BEGIN SOLUTION */ region"
        steps = [s for s, _, _ in regions]
        assert all(1 <= s <= 6 for s in steps), f"{c}: steps {steps}"


def test_marker_errors_are_reported():
    with pytest.raises(handout.MarkerError, match="without END"):
        handout.solution_regions("/* BEGIN SOLUTION */\n/* STUB: not_implemented(1); */\nx();\n")
    with pytest.raises(handout.MarkerError, match="not_implemented"):
        handout.solution_regions("/* BEGIN SOLUTION */\nx();\n/* END SOLUTION */\n")


def code_of(line):
    """A line of C without its trailing comment: `close(fd);   /* FIN */` -> `close(fd);`."""
    return re.sub(r"\s*(/\*.*?\*/|//.*)\s*$", "", line.strip())


def test_handout_keeps_no_solution_text(handout_dir):
    # A solution line is secret unless the kit gives the same code outside
    # the holes (each lesson shows the earlier lessons' steps complete),
    # with or without a comment after it: lesson 04's accept loop is a hole
    # in 04 and complete in 05, whose copy says why it loops.
    given = set()
    for c in (ROOT / "lessons").glob("*/*.c"):
        given.update(code_of(l) for l in handout.strip_solutions(c.read_text(), str(c)).split("\n"))
    lines = {l: s for l, s in handout.distinctive_solution_lines().items() if code_of(l) not in given}
    assert len(lines) > 20, "the solution regions should hold the lessons' socket calls"
    leaks = []
    for f in handout_dir.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            leaks += [(str(f.relative_to(handout_dir)), l) for l in lines if l in text]
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, f
    assert not leaks, f"solution text in the handout: {leaks[:10]}"
    for lesson in LESSON_POINTS:
        # Each lesson's server has a hole (its new step), with its stub.
        server = (handout_dir / "lessons" / lesson / "server.c").read_text()
        steps = re.findall(r"TODO\(step (\d)\)", server)
        assert steps and all(f"not_implemented({n});" in server for n in steps), lesson
    assert not (handout_dir / "tests" / "mutants").exists()
    assert not (handout_dir / "grader").exists()
    assert (handout_dir / "lessons" / "05-send-recv" / "tests").is_dir(), "the tests go with the handout"


def test_handout_classroom_file_has_one_entry_per_lesson_with_its_points(handout_dir):
    spec = json.loads((handout_dir / ".github" / "classroom" / "autograding.json").read_text())
    assert [(t["name"], t["points"]) for t in spec["tests"]] == [
        (f"lesson {l}", p) for l, p in sorted(LESSON_POINTS.items())]
    assert sum(t["points"] for t in spec["tests"]) == sum(LESSON_POINTS.values()) == 160
    assert all(f"lessons/{l}/tests" in t["run"] for t, l in zip(spec["tests"], sorted(LESSON_POINTS)))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_handout_builds_warning_free_and_says_which_step_is_missing(handout_dir):
    r = subprocess.run(["make", "-s", "-C", str(handout_dir), "BUILD=build"], capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in (r.stdout + r.stderr)
    # Each program runs the earlier steps, complete, and stops at its new one.
    run = subprocess.run([str(handout_dir / "build" / "03-listen" / "server"), "0"], capture_output=True,
                         text=True, timeout=10)
    assert run.returncode == 1
    assert "server: step 3 not implemented yet: write it at TODO(step 3)" in run.stderr
    run = subprocess.run([str(handout_dir / "build" / "04-accept" / "client"), "127.0.0.1", "9"],
                         capture_output=True, text=True, timeout=10)
    assert run.returncode == 1 and "client: step 1 not implemented yet" in run.stderr
    run = subprocess.run([str(handout_dir / "build" / "08-fork" / "server"), "0"], capture_output=True,
                         text=True, timeout=10)
    assert run.returncode == 1 and "listening on" in run.stdout, run.stdout + run.stderr
    assert "server: step 4 not implemented yet: write it at TODO(step 4)" in run.stderr


def test_lesson_points_sum_to_the_totals(scratch):
    listing = scratch / "collected.json"
    r = subprocess.run([PY, "-m", "pytest", "-q", "--collect-only", "-p", "grader.plugin",
                        f"--grade-collect={listing}", "lessons"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "tests")}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    totals = {}
    for t in json.loads(listing.read_text()):
        assert t["max_score"] > 0, f"{t['nodeid']} has no @pytest.mark.points"
        totals[t["lesson"]] = totals.get(t["lesson"], 0) + t["max_score"]
    assert totals == LESSON_POINTS


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_reference_solution_scores_100_with_gradescope_and_junit_output(scratch):
    results = grade(ROOT, scratch / "ref")
    failed = [(t["name"], t["output"][:500]) for t in results["tests"] if t["status"] != "passed"]
    assert not failed
    assert results["score"] == sum(LESSON_POINTS.values())
    for t in results["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
    junit = (scratch / "ref" / "junit.xml").read_text()
    assert junit.count("<testcase") == len(results["tests"]) and "<failure" not in junit


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_handout_scores_near_zero_with_messages_naming_lesson_and_step(scratch, handout_dir):
    lessons = ["01-socket", "02-bind", "03-listen"]
    results = grade(handout_dir, scratch / "handout-grade", *sum((["--lesson", l] for l in lessons), []))
    assert results["score"] == 0, results["output"]           # not even for the kit's own usage checks
    # Untouched, each lesson is not run: every test names the step to write.
    for t in results["tests"]:
        lesson = t["extra_data"]["lesson"]
        assert re.search(rf"lesson {lesson}: not started, so no points yet: write step \d at TODO\(step \d\) "
                         rf"in lessons/{lesson}/server\.c", t["extra_data"]["headline"]), t
    # A lesson changed but still stopping at its hole is run, and says so.
    tree = scratch / "touched"
    shutil.copytree(handout_dir, tree, ignore=shutil.ignore_patterns("build"))
    server = tree / "lessons" / "01-socket" / "server.c"
    server.write_text("/* started */\n" + server.read_text())
    results = grade(tree, scratch / "touched-grade", "--lesson", "01-socket")
    assert results["score"] == 0, results["output"]
    stubbed = [t for t in results["tests"] if "not implemented yet" in t["output"]]
    assert len(stubbed) >= len(results["tests"]) // 2, results["output"]
    for t in stubbed:
        assert re.search(r"lesson 01-socket: step 1 not implemented yet", t["output"]), t["output"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_lesson_that_does_not_compile_costs_only_that_lesson(scratch):
    tree = scratch / "broken"
    mutants.reference_copy(tree)
    server = tree / "lessons" / "02-bind" / "server.c"
    server.write_text(server.read_text().replace("return EXIT_OK;", "return EXIT_OK", 1))
    results = grade(tree, scratch / "broken-grade", "--lesson", "01-socket", "--lesson", "02-bind")
    assert lesson_score(results, "01-socket") == (10, 10)
    assert lesson_score(results, "02-bind") == (0, 15)
    bind = [t for t in results["tests"] if t["extra_data"]["lesson"] == "02-bind"]
    assert all("lesson 02-bind does not compile" in t["output"] and "error" in t["output"] for t in bind)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(os.geteuid() != 0, reason="the process limit holds the bomb only when the grader "
                    "can run it as its own uid (as root) or in Docker")
def test_fork_bomb_costs_its_points_not_the_grader(scratch):
    tree = scratch / "bomb"
    mutants.reference_copy(tree)
    server = tree / "lessons" / "01-socket" / "server.c"
    text = server.read_text()
    server.write_text(text.replace("    parse_server_args(argc, argv, ABOUT, 0, &args);",
                                   "    for (;;) (void)fork();\n    parse_server_args(argc, argv, ABOUT, 0, &args);", 1))
    results = grade(tree, scratch / "bomb-grade", "--lesson", "01-socket", "--timeout", "10")
    assert lesson_score(results, "01-socket")[0] < 10


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("mutant", mutants.all_mutants(), ids=lambda m: m.name)
def test_buggy_variant_loses_points_in_its_lesson(scratch, mutant):
    if mutant.outside_lessons():
        pytest.skip(f"{mutant.name} edits {mutant.outside_lessons()}: grading takes only lessons/*/*.c "
                    "from a submission, so it is no student's bug (move it into the lesson's .c)")
    results = mutants.grade_mutant(mutant, scratch / "mutants")
    score, max_score = lesson_score(results, mutant.lesson)
    assert max_score == LESSON_POINTS[mutant.lesson]
    assert score < max_score, f"{mutant.name} ({mutant.about}) is not caught by lesson {mutant.lesson}'s tests"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_gradescope_zip_runs_to_a_valid_results_json(scratch):
    out = scratch / "gs"
    r = subprocess.run([PY, str(ROOT / "grader" / "gradescope.py"), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ag = scratch / "autograder"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder", "grader/grade.py"} <= set(names)
        z.extractall(ag / "source")
    for f in ("setup.sh", "run_autograder"):
        (ag / "source" / f).chmod(0o755)
    sub = ag / "submission" / "socketlab"
    mutants.reference_copy(sub)
    r = subprocess.run([str(ag / "source" / "run_autograder")], capture_output=True, text=True, timeout=280,
                       env={**os.environ, "AUTOGRADER_ROOT": str(ag), "GRADE_LESSONS": "01-socket 02-bind"})
    results = json.loads((ag / "results" / "results.json").read_text())
    assert results["score"] == 25, r.stdout + r.stderr
    assert {t["status"] for t in results["tests"]} == {"passed"}


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_grading_in_docker_scores_the_reference_and_a_mutant(scratch):
    if not docker_available():
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    results = grade(ROOT, scratch / "docker-ref", "--docker", "yes", "--lesson", "01-socket",
                    "--lesson", "05-send-recv")
    assert results["score"] == 35, results["output"]
    m = [m for m in mutants.all_mutants() if m.name == "reply-not-ok"][0]
    tree = scratch / "docker-mutant"
    mutants.reference_copy(tree)
    m.apply(tree)
    results = grade(tree, scratch / "docker-mutant-grade", "--docker", "yes", "--lesson", m.lesson)
    assert lesson_score(results, m.lesson)[0] < LESSON_POINTS[m.lesson]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_gradescope_autograder_in_a_container_laid_out_as_gradescope_does(scratch):
    """The zip unpacked in /autograder/source, the upload (a folder wrapping
    lessons/) in /autograder/submission, run_autograder run as root in a
    container with Docker's default capabilities: results.json lands in
    /autograder/results, and the source holds no reference solution."""
    if not docker_available():
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    sys.path.insert(0, str(ROOT / "grader"))
    import grade as grademod
    assert grademod.docker_ready(), "the socketlab-grader image (the Gradescope stand-in) cannot be built"
    out = scratch / "gs-docker"
    r = subprocess.run([PY, str(ROOT / "grader" / "gradescope.py"), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ag = scratch / "gs-docker-autograder"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(ag / "source")
        for i in z.infolist():
            (ag / "source" / i.filename).chmod((i.external_attr >> 16) & 0o777 or 0o644)
    for c in (ag / "source" / "lessons").glob("*/*.c"):
        # Each lesson file as the handout has it: its new steps are holes.
        kit = (ROOT / c.relative_to(ag / "source")).read_text()
        assert "BEGIN SOLUTION" not in c.read_text() and c.read_text() == handout.strip_solutions(kit), c
    sub = ag / "submission" / "socketlab-main"
    mutants.reference_copy(sub)
    (ag / "results").mkdir()
    r = subprocess.run(["docker", "run", "--rm", "--network", "none",
                        "-v", f"{ag / 'source'}:/autograder/source", "-v", f"{ag / 'submission'}:/autograder/submission",
                        "-v", f"{ag / 'results'}:/autograder/results", "-e", "GRADE_LESSONS=01-socket 05-send-recv",
                        grademod.DOCKER_IMAGE, "/autograder/source/run_autograder"],
                       capture_output=True, text=True, timeout=900)
    results = json.loads((ag / "results" / "results.json").read_text())
    assert results["score"] == 35, r.stdout + r.stderr + results.get("output", "")
    assert {t["status"] for t in results["tests"]} == {"passed"}
    # A folder with no lessons/ gets a results.json that says so.
    shutil.rmtree(ag / "submission")
    (ag / "submission" / "notes").mkdir(parents=True)
    r = subprocess.run(["docker", "run", "--rm", "--network", "none",
                        "-v", f"{ag / 'source'}:/autograder/source", "-v", f"{ag / 'submission'}:/autograder/submission",
                        "-v", f"{ag / 'results'}:/autograder/results", grademod.DOCKER_IMAGE,
                        "/autograder/source/run_autograder"], capture_output=True, text=True, timeout=900)
    results = json.loads((ag / "results" / "results.json").read_text())
    assert results["score"] == 0 and "no lessons/ folder" in results["output"], results


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_grade_all_writes_a_gradebook_skips_what_is_graded_and_sums_up(scratch):
    """A class folder: a reference folder, a zipped one wrapped in a folder, a
    broken one, a stray text file. Gradebook rows, statuses, per-student results,
    a second run that grades nothing again, FORCE that does, and the summary."""
    klass = scratch / "class"
    ref = {str(c.relative_to(ROOT)): c.read_bytes() for c in (ROOT / "lessons" / "01-socket").glob("*.c")}
    for name, data in ref.items():
        (klass / "alice" / name).parent.mkdir(parents=True, exist_ok=True)
        (klass / "alice" / name).write_bytes(data)
        broken = data.replace(b"return EXIT_OK;", b"return EXIT_OK", 1)
        (klass / "bob" / name).parent.mkdir(parents=True, exist_ok=True)
        (klass / "bob" / name).write_bytes(broken)
    with zipfile.ZipFile(klass / "carol.zip", "w") as z:
        for name, data in ref.items():
            z.writestr(f"socketlab-main/{name}", data)
    (klass / "dave.txt").write_text("my homework\n")
    out = scratch / "grade-all"
    cmd = [PY, str(ROOT / "grader" / "grade_all.py"), str(klass), "--out", str(out), "--docker", "no",
           "--lesson", "01-socket", "--jobs", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=800)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {row[0]: row for row in (l.split(",") for l in (out / "gradebook.csv").read_text().splitlines())}
    assert rows["student"] == ["student", "01-socket", "total", "max", "status"]
    assert rows["alice"] == ["alice", "10", "10", "10", "ok"]
    assert rows["carol"] == ["carol", "10", "10", "10", "ok"]
    assert rows["bob"][1:] == ["0", "0", "10", "build failed: 01-socket"]
    assert rows["dave.txt"][4].startswith("refused: ")
    for student in ("alice", "bob", "carol"):
        assert (out / student / "results.json").exists() and (out / student / "junit.xml").exists()
        assert (out / student / "feedback.md").exists()
    assert "Not graded: refused: " in (out / "dave.txt" / "feedback.md").read_text()
    assert (out / "similarity.md").exists()
    assert re.search(r"grade-all: 4/4 \S+: ", r.stderr), r.stderr      # the running count, no terminal
    assert "graded 3 of 4 submissions; mean 6.7/10" in r.stdout, r.stdout
    assert re.search(r"01-socket\s+6\.7\s+2/3\s+test_\w+ \(1\)", r.stdout), r.stdout
    book = (out / "gradebook.csv").read_text()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=800)
    assert again.stderr.count("(already graded)") == 4, again.stderr
    assert (out / "gradebook.csv").read_text() == book
    forced = subprocess.run(cmd[:-2] + ["--jobs", "1", "--force"], capture_output=True, text=True, timeout=800)
    assert "(already graded)" not in forced.stderr and forced.returncode == 0
