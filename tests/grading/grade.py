"""grade.py - grade a student's tree (the handout with their code filled in).

    python3 tests/grading/grade.py SUBMISSION [--out build/grade] [--lesson 05-send-recv ...]
                                   [--docker auto|yes|no] [--timeout SEC]

Each lesson is built and tested on its own, so a lesson that does not compile
costs that lesson only (its compiler error goes into each of its tests'
output). The tests are the grader's own copy (the kit's lessons/*/tests and
harness), never the submission's. Every test has a time limit, every lesson
a wall-clock limit, and the student's programs run with limits on processes
and memory: as an unprivileged user when we are root, or inside a `socketlab`
container (no network, memory/pids limits, non-root) when Docker works.

Writes OUT/results.json (Gradescope), OUT/junit.xml, and prints a table.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from grading.plugin import table  # noqa: E402
from grading.handout import LESSON_POINTS  # noqa: E402

PYTHON = os.environ.get("GRADE_PYTHON", "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable)
BUILD_LIMIT = 120           # seconds to build one lesson
NPROC_LIMIT = 400           # processes+threads of the grading user (a fork bomb stops here)
MEM_LIMIT = 2 << 30         # bytes of address space per process
# When we run as root, the student's code runs as a uid:gid that no one else
# uses, this run's own (allocate_uid): after each test, every process left
# with that uid is killed. Concurrent graders each hold a different one.
UID_RANGE = range(61000, 62000)
UNPRIVILEGED = (61000, 61000)
_uid_lock = None


def allocate_uid():
    """A uid from UID_RANGE that no other grading run holds (a lock file each)."""
    global UNPRIVILEGED, _uid_lock
    import fcntl
    for uid in UID_RANGE:
        f = open(f"/tmp/socketlab-grader-uid-{uid}.lock", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _uid_lock = f
        UNPRIVILEGED = (uid, uid)
        return uid
    raise SystemExit("grade: every grading uid is taken by a running grader")
DOCKER_IMAGE = os.environ.get("GRADE_DOCKER_IMAGE", "socketlab-grader")


def lessons_of(root):
    return sorted(p.name for p in (root / "lessons").glob("[0-9][0-9]-*") if p.is_dir())


def make_work_tree(submission, work):
    """The tree we build and test: the student's C code, the grader's tests and Makefile."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in ("Makefile", "conftest.py", "pytest.ini"):
        shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    # The fault-injection library is the grader's (lesson 05 is graded with
    # injected short writes and EINTR): ours, never the submission's.
    shutil.copytree(ROOT / "fault", work / "fault")
    (work / "mk").mkdir()
    shutil.copy2(ROOT / "mk" / "fault.mk", work / "mk" / "fault.mk")
    for d in ("src", "include"):
        # symlinks=True: a link to a file outside the tree stays a link, which
        # the unprivileged build cannot follow into root's files.
        shutil.copytree(submission / d if (submission / d).is_dir() else ROOT / d, work / d, symlinks=True)
    for lesson in lessons_of(ROOT):
        dst = work / "lessons" / lesson
        dst.mkdir(parents=True)
        for src in sorted((ROOT / "lessons" / lesson).glob("*.c")):
            theirs = submission / "lessons" / lesson / src.name
            if theirs.is_file() and not theirs.is_symlink():
                shutil.copy2(theirs, dst / src.name)
        shutil.copytree(ROOT / "lessons" / lesson / "tests", dst / "tests",
                        ignore=shutil.ignore_patterns("__pycache__"))
    (work / "build").mkdir()
    (work / "tmp").mkdir()
    # The student's code may write build/ and tmp/ only: the grader's tests
    # and harness stay root's, out of its reach.
    if os.geteuid() == 0:
        for d in (work / "build", work / "tmp"):
            os.chown(d, *UNPRIVILEGED)


def threads_of_uid(uid):
    """How many threads the uid runs now (RLIMIT_NPROC counts threads)."""
    n = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            n += int(fields.get("Threads", "1").strip() or 1)
    return n


def demote_and_limit():
    """preexec_fn: new session, limits, and (as root) an unprivileged user."""
    os.setsid()
    import resource
    demoted = os.geteuid() == 0
    if demoted:
        os.setgroups([])
        os.setgid(UNPRIVILEGED[1])
        os.setuid(UNPRIVILEGED[0])
    nproc = NPROC_LIMIT
    if not demoted:                 # our own uid also runs everything else we do
        nproc += threads_of_uid(os.getuid())
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))


def kill_leftovers():
    """As root: kill every process of the grading uid (a fork bomb's children,
    daemons the submission started), from a child that takes that uid, so
    kill(-1) reaches exactly those processes."""
    if os.geteuid() != 0:
        return
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(UNPRIVILEGED[1])
                os.setuid(UNPRIVILEGED[0])
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


def run_limited(argv, cwd, env, timeout):
    """Run argv in its own session under the limits; kill the session at the deadline."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         preexec_fn=demote_and_limit)
    try:
        out, _ = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)   # whatever the run left behind
        except (ProcessLookupError, PermissionError):
            pass
        kill_leftovers()
    if timed_out:
        out, _ = p.communicate()
    return p.returncode, out.decode("utf-8", "replace"), timed_out


def lesson_programs(work, lesson):
    return [f"build/{lesson}/{c.stem}" for c in sorted((ROOT / "lessons" / lesson).glob("*.c"))]


def build_lesson(work, lesson, env):
    """make the lesson's programs; return ("", ok) or (the compiler's error, False)."""
    programs = lesson_programs(work, lesson)
    targets = programs + ["build/libfault.so"]
    missing = [t for t in programs if not (work / "lessons" / lesson / (Path(t).name + ".c")).exists()]
    if missing:
        return f"lesson {lesson}: the submission has no {', '.join(Path(m).name + '.c' for m in missing)}", False
    rc, out, timed_out = run_limited(["make", "-s", "V=1", *targets], work, env, BUILD_LIMIT)
    if timed_out:
        return f"lesson {lesson}: the build took more than {BUILD_LIMIT}s", False
    if rc != 0:
        return f"lesson {lesson} does not compile:\n{out.strip()[-3000:]}", False
    return "", True


def failed_test(lesson, name, max_score, output, headline):
    return {"name": f"{lesson}: {name}", "score": 0.0, "max_score": max_score, "status": "failed",
            "visibility": "visible", "output": output[-4000:],
            "extra_data": {"lesson": lesson, "headline": headline}}


def grade_lesson(work, out, lesson, timeout, env):
    """Build, then run each of the lesson's tests in its own pytest process
    (a submission that crashes or floods one test cannot take the others
    down with it); return {"tests": [...], "junit": [xml...], "build_error": text}."""
    note, ok = build_lesson(work, lesson, env)
    tmp = work / "tmp" / lesson
    tmp.mkdir(exist_ok=True)
    notefile = tmp / "build-note.txt"
    notefile.write_text(note)
    if os.geteuid() == 0:
        for p in (tmp, notefile):
            os.chown(p, *UNPRIVILEGED)
    base = [PYTHON, "-m", "pytest", "-q", "-p", "grading.plugin", "-p", "no:cacheprovider"]
    listing = tmp / "tests.json"
    rc, text, _ = run_limited(base + [f"lessons/{lesson}/tests", "--collect-only",
                                      f"--grade-collect={listing}"], work, env, 60)
    if not listing.exists():
        return {"tests": [failed_test(lesson, "all tests", LESSON_POINTS.get(lesson, 0),
                                      f"{note}\n\nthe tests could not be collected:\n{text[-3000:]}",
                                      "the tests could not be collected")],
                "junit": [], "build_error": note}
    tests, junits, log = [], [], []
    for n, t in enumerate(json.loads(listing.read_text())):
        res, junit = tmp / f"result-{n}.json", tmp / f"junit-{n}.xml"
        rc, text, timed_out = run_limited(
            base + [t["nodeid"], f"--grade-json={res}", f"--grade-note={notefile}", f"--junitxml={junit}",
                    "-o", f"junit_suite_name={lesson}", f"--timeout={timeout}",
                    f"--basetemp={tmp / f'pytest-{n}'}"], work, env, timeout + 30)
        log.append(text)
        got = json.loads(res.read_text())["tests"] if res.exists() else []
        if got:
            tests.extend(got)
        else:
            why = (f"the test took more than {timeout + 30}s and was stopped" if timed_out else
                   f"the test run crashed (pytest exit {rc}): the program's output or behaviour "
                   "overwhelmed the test harness")
            tests.append(failed_test(lesson, t["test"], t["max_score"],
                                     f"{note}\n\n{why}\n\n{text[-3000:]}".strip(), note.split("\n")[0] or why))
        if junit.exists():
            junits.append(junit.read_text())
    (out / f"{lesson}.log").write_text("\n".join(log))
    return {"tests": tests, "junit": junits, "build_error": note}


def write_junit(path, results):
    """One <testsuite> per lesson, holding the testcases of its pytest runs."""
    suites = ET.Element("testsuites")
    for lesson, r in results.items():
        suite = ET.SubElement(suites, "testsuite", name=lesson)
        cases = []
        for xml in r["junit"]:
            try:
                cases.extend(ET.fromstring(xml).iter("testcase"))
            except ET.ParseError:
                pass
        names = {c.get("name") for c in cases}
        for t in r["tests"]:                 # tests whose run died: no testcase from pytest
            name = t["name"].split(": ", 1)[-1]
            if name not in names:
                c = ET.Element("testcase", classname=f"lessons.{lesson}", name=name)
                if t["status"] != "passed":
                    ET.SubElement(c, "failure", message=t["extra_data"]["headline"][:200]).text = t["output"]
                cases.append(c)
        for c in cases:
            suite.append(c)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def docker_ready(build=True):
    """True when a Docker engine answers and the grader image exists (built
    here from tests/grading/Dockerfile when missing and `build`)."""
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode != 0:
            return False
        if subprocess.run(["docker", "image", "inspect", DOCKER_IMAGE], capture_output=True,
                          timeout=20).returncode == 0:
            return True
        if not build:
            return False
        print(f"grade: building the image {DOCKER_IMAGE} (tests/grading/Dockerfile)", file=sys.stderr)
        return subprocess.run(["docker", "build", "-q", "-t", DOCKER_IMAGE, "--build-arg",
                               f"BASE_IMAGE={os.environ.get('BASE_IMAGE', 'debian:bookworm-slim')}",
                               "-f", str(ROOT / "tests/grading/Dockerfile"), str(ROOT / "tests/grading")],
                              stdout=subprocess.DEVNULL, timeout=900).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def clear_out(out):
    """Remove what an earlier run wrote to `out` (and only that)."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "work", ignore_errors=True)
    for pattern in ("results.json", "junit.xml", "*.log", "*.note"):
        for f in out.glob(pattern):
            f.unlink()


def grade_in_docker(args, submission, out):
    """Run this same script in the grader image: no network (only the
    container's own loopback), memory/pids/CPU limits, a non-root user, the
    grader and the submission read-only."""
    clear_out(out)                  # a local run's files: not the container's to remove
    user = UNPRIVILEGED if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(out, *user)
    argv = ["docker", "run", "--rm", "--network", "none", "--memory", "2g", "--memory-swap", "2g",
            "--pids-limit", "512", "--cpus", "2", "--security-opt", "no-new-privileges",
            "--user", f"{user[0]}:{user[1]}", "--tmpfs", "/tmp:exec,size=256m",
            "-v", f"{ROOT}:/grader:ro", "-v", f"{submission}:/submission:ro", "-v", f"{out}:/out",
            "-e", f"GRADE_HOST_OUT={out}", DOCKER_IMAGE,
            "python3", "/grader/tests/grading/grade.py", "/submission", "--out", "/out",
            "--docker", "no", "--timeout", str(args.timeout), *(["--quiet"] if args.quiet else []),
            *sum((["--lesson", l] for l in args.lesson), [])]
    try:
        rc = subprocess.run(argv, timeout=3600).returncode
    except subprocess.TimeoutExpired:
        rc = 1
    # Paths inside the container mean nothing outside: name the host's files.
    f = out / "results.json"
    if f.exists():
        f.write_text(f.read_text().replace("/out/work/", f"{out}/work/"))
        if not args.quiet:
            print(f"(graded in the {DOCKER_IMAGE} container: no network, limits, non-root)")
    return rc


def main(argv=None):
    ap = argparse.ArgumentParser(description="grade a socketlab submission")
    ap.add_argument("submission", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "grade")
    ap.add_argument("--lesson", action="append", default=[], help="grade only this lesson (repeatable)")
    ap.add_argument("--docker", choices=("auto", "yes", "no"), default=os.environ.get("GRADE_DOCKER", "auto"),
                    help="grade inside the socketlab-grader container: auto (when docker info works), yes, no")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("GRADE_TIMEOUT", "30")),
                    help="seconds per test (default 30)")
    ap.add_argument("--quiet", action="store_true", help="no table on the terminal")
    args = ap.parse_args(argv)
    submission = args.submission.resolve()
    if os.geteuid() == 0:
        allocate_uid()
    out = args.out.resolve()
    if not (submission / "lessons").is_dir():
        print(f"grade: {submission} has no lessons/ directory: not a socketlab tree", file=sys.stderr)
        return 2
    if args.docker == "yes" and not docker_ready():
        print(f"grade: no Docker engine or no image {DOCKER_IMAGE}; grade locally with --docker no",
              file=sys.stderr)
        return 2
    if args.docker == "yes" or (args.docker == "auto" and docker_ready()):
        return grade_in_docker(args, submission, out)
    if args.docker == "auto" and os.geteuid() != 0 and not args.quiet:
        print("grade: no Docker: grading locally, with time and process limits", file=sys.stderr)

    clear_out(out)
    work = out / "work"
    make_work_tree(submission, work)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work / "tmp"), "LANG": "C.UTF-8",
           "LAB_BUILD": str(work / "build"), "PYTHONPATH": str(work / "tests"),
           "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(work / "tmp")}
    lessons = args.lesson or lessons_of(ROOT)
    results, tests = {}, []
    started = time.monotonic()
    for lesson in lessons:
        r = grade_lesson(work, out, lesson, args.timeout, env)
        results[lesson] = r
        tests.extend(r["tests"])
    for t in tests:
        t["number"] = str(len([u for u in tests[:tests.index(t) + 1]]))
    score = sum(t["score"] for t in tests)
    gradescope = {
        "score": score,
        "execution_time": round(time.monotonic() - started, 1),
        "output": "\n".join(table(tests, {l: LESSON_POINTS.get(l, 0) for l in lessons})),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    (out / "results.json").write_text(json.dumps(gradescope, indent=2, ensure_ascii=False) + "\n")
    write_junit(out / "junit.xml", results)
    if not args.quiet:
        for lesson, r in results.items():
            if r["build_error"]:
                print(f"\n=== {r['build_error']}\n")
        print("\n".join(table(tests, {l: LESSON_POINTS.get(l, 0) for l in lessons})))
        shown = Path(os.environ.get("GRADE_HOST_OUT", out))    # in Docker: the host's path
        print(f"\nwrote {shown / 'results.json'} and {shown / 'junit.xml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
