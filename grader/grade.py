"""grade.py - grade a student's submission: a folder or an archive holding lessons/.

    python3 grader/grade.py SUBMISSION [--out build/grade] [--lesson 05-send-recv ...]
                                   [--docker auto|yes|no] [--timeout SEC] [--limit SEC] [--quiet]

Only the student's lesson files (lessons/NN-name/*.c) are graded; everything
else (library, headers, Makefile, harness, tests, the fault and trace
library) is the grader's kit (kit.py: no reference solution in it), built
before any student code runs. Exit 0 when graded (whatever the score), 2
when the submission is refused (one line on stderr), 1 when the grader
itself fails.

Safety (see sandbox.py): the harness (pytest, the plugin, the result files)
runs as root; the student's build and programs as a uid of this run's own
(61000-61999), with limits, in fresh pid/network/mount namespaces when the
kernel allows (`unshare`): loopback only, the grader's tree hidden, private
/tmp. Every process of that uid is killed after each build and each test.
With --docker (auto: when `docker info` works) the same runs inside the
socketlab-grader container (no network, read-only root, memory/pids
limits), the kit mounted read-only at /grader.

Writes OUT/results.json (Gradescope), OUT/junit.xml, OUT/grade.json (status,
points per lesson), OUT/pytest.log and OUT/<lesson>.build.log; prints a table.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.plugin import table  # noqa: E402
from grader import kit as kitmod  # noqa: E402
from grader.submission import Refused, open_submission  # noqa: E402

PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
NPROC_LIMIT = 256           # processes+threads of the student's uid: lesson 08 forks one per
                            # client (100 at once in its tests); a fork bomb stops here
MEM_LIMIT = 512 << 20       # bytes of address space per student process
GRADE_LIMIT = 1200          # seconds for a whole submission
UID_RANGE = range(61000, 62000)
DOCKER_IMAGE = os.environ.get("GRADE_DOCKER_IMAGE", "socketlab-grader")
ROOTED = os.geteuid() == 0
_uid_lock = None


def allocate_uid():
    """A uid from UID_RANGE that no other grading run holds (a lock file each).
    Tried in a random order: a grader in a container (Gradescope) cannot see
    the lock files of another container on the same machine, but shares its
    users and so their process limits; a random pick rarely meets another."""
    global _uid_lock
    import fcntl
    import random
    for uid in random.sample(UID_RANGE, len(UID_RANGE)):
        f = open(f"/tmp/socketlab-grader-uid-{uid}.lock", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _uid_lock = f
        # Leftovers of a grader that died holding this uid would count
        # against the new run's process limit: none may survive.
        from grader.sandbox import kill_uid
        kill_uid(uid)
        return uid
    raise SystemExit("grade: every grading uid is taken by a running grader")


_ns = None


def namespaces_work():
    """Whether `unshare` can give us pid, network and mount namespaces (root, not in a container)."""
    global _ns
    if _ns is None:
        try:
            _ns = ROOTED and subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--net", "--mount", "true"],
                                            capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _ns = False
    return _ns


def own(path, uid, gid, mode):
    if ROOTED:
        os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)


def make_work(kit, student_tree, work, uid, lessons, scratch):
    """work/tree: the kit with the student's lesson files in place of the stubs
    (root's, readable by the run's gid only); work/results (root's, 0700);
    scratch (the student's)."""
    tree, results = work / "tree", work / "results"
    shutil.copytree(kit, tree, symlinks=True)
    for lesson, info in lessons.items():
        for prog in info["programs"]:
            stub = tree / "lessons" / lesson / f"{prog}.c"
            theirs = student_tree / "lessons" / lesson / f"{prog}.c"
            stub.unlink(missing_ok=True)
            if theirs.is_file():
                shutil.copyfile(theirs, stub)
    for d, subdirs, files in os.walk(tree):
        own(d, 0, uid, 0o750)
        for f in files:
            p = Path(d) / f
            if not p.is_symlink():
                own(p, 0, uid, 0o750 if os.access(p, os.X_OK) else 0o640)
    for lesson in lessons:          # the only place the student's build writes
        (tree / "build" / lesson).mkdir()
        own(tree / "build" / lesson, uid, uid, 0o750)
    results.mkdir(mode=0o700)
    scratch.mkdir(exist_ok=True)
    own(scratch, uid, uid, 0o700)
    own(work, 0, 0, 0o711)
    return tree, results, scratch


def run_sandbox(cfg, results, limit):
    """Run sandbox.py on cfg, in namespaces when we can; (timed_out, output)."""
    (results / "config.json").write_text(json.dumps(cfg))
    argv = [PYTHON, "-I", str(Path(cfg["tree"]) / "grader" / "sandbox.py"), str(results / "config.json")]
    if cfg["namespaces"]:
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount", "--"] + argv
    with open(results / "sandbox.log", "wb") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            p.wait(limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
    from grader.sandbox import kill_uid
    kill_uid(cfg["uid"])
    return timed_out


def grade_here(args, student_tree, kit, out):
    """Grade in this machine's sandbox (also what runs inside the container)."""
    info = kitmod.kit_info(kit)
    lessons = {l: info[l] for l in (args.lesson or info)}
    uid = (args.uid or allocate_uid()) if ROOTED else 0
    base = Path(os.environ.get("GRADE_WORKDIR", "/var/tmp"))
    work = Path(tempfile.mkdtemp(prefix="socketlab-grade-", dir=base))
    # The student's scratch: a size-limited tmpfs the sandbox mounts over
    # work/scratch; without namespaces (in the container) on /tmp, apart from
    # the work folder, so filling it cannot stop the results being written.
    ns = namespaces_work()
    scratch = work / "scratch" if ns else Path(tempfile.mkdtemp(prefix="socketlab-scratch-", dir="/tmp"))
    try:
        tree, results, scratch = make_work(kit, student_tree, work, uid, lessons, scratch)
        hide = [str(ROOT)] + [h for h in os.environ.get("GRADE_HIDE", "").split(":") if h]
        hide = [h for h in hide if os.path.isdir(h) and not str(work).startswith(h.rstrip("/") + "/")]
        cfg = {"tree": str(tree), "results": str(results), "scratch": str(scratch), "uid": uid, "gid": uid,
               "nproc": NPROC_LIMIT, "mem": MEM_LIMIT, "timeout": args.timeout, "python": PYTHON,
               "namespaces": ns, "hide": hide, "lessons": lessons}
        started = time.monotonic()
        timed_out = run_sandbox(cfg, results, args.limit)
        summary = {}
        if (results / "summary.json").exists():
            summary = json.loads((results / "summary.json").read_text())
        status = "timed out" if timed_out else "ok" if summary else "grader error"
        junits = [f.read_text(errors="replace") for f in sorted(results.glob("junit-*.xml"))]
        for lesson in lessons:
            if lesson not in summary:
                summary[lesson] = {"build_error": "", "tests": [], "lost": True}
            r = summary[lesson]
            r["junit"] = junits
            if (results / f"{lesson}.build.log").exists():
                shutil.copyfile(results / f"{lesson}.build.log", out / f"{lesson}.build.log")
        if (results / "pytest.log").exists():
            shutil.copyfile(results / "pytest.log", out / "pytest.log")
        if status == "grader error":
            sys.stderr.write((results / "sandbox.log").read_text(errors="replace")[-3000:])
        write_results(out, summary, lessons, status, time.monotonic() - started, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if status != "grader error" else 1


def write_results(out, summary, lessons, status, seconds, args):
    tests = []
    for lesson, r in summary.items():
        if r.get("lost") or not r["tests"]:
            why = "the grading of this submission took too long and was stopped" if status == "timed out" \
                else "the grader failed on this lesson"
            r["tests"] = [{"name": f"{lesson}: all tests", "score": 0.0, "max_score": lessons[lesson]["points"],
                           "status": "failed", "visibility": "visible", "output": why,
                           "extra_data": {"lesson": lesson, "headline": why, "why": status}}]
        tests.extend(r["tests"])
    for n, t in enumerate(tests, 1):
        t["number"] = str(n)
    lesson_max = {l: i["points"] for l, i in lessons.items()}
    score = sum(t["score"] for t in tests)
    text = "\n".join(table(tests, lesson_max))
    (out / "results.json").write_text(json.dumps({
        "score": score, "execution_time": round(seconds, 1), "output": text, "visibility": "visible",
        "stdout_visibility": "hidden", "tests": tests}, indent=2, ensure_ascii=False) + "\n")
    write_junit(out / "junit.xml", summary)
    broken = [l for l, r in summary.items() if r.get("build_error")]
    if status == "ok" and broken:
        status = "build failed: " + " ".join(broken)
    # Tests the grader's machine could not run (plugin.py: skipped) cost the
    # student nothing; the instructor reads them in the status.
    not_run = [{"test": t["name"], "why": t["extra_data"]["not_run"],
                "points": t["extra_data"].get("points_left_out", 0)}
               for t in tests if t["extra_data"].get("not_run")]
    if not_run and status == "ok":
        status = f"grader problem: {not_run_summary(not_run)}"
    elif not_run:
        status += f"; grader problem: {not_run_summary(not_run)}"
    per_lesson = {l: sum(t["score"] for t in tests if t["extra_data"]["lesson"] == l) for l in lessons}
    graded_max = {l: sum(t["max_score"] for t in tests if t["extra_data"]["lesson"] == l) for l in lessons}
    (out / "grade.json").write_text(json.dumps({
        "status": status, "score": score, "lessons": per_lesson, "max": lesson_max, "graded_max": graded_max,
        "not_run": not_run, "failed": [t["name"] for t in tests if t["status"] != "passed"],
        "build_errors": {l: r["build_error"] for l, r in summary.items() if r.get("build_error")}},
        indent=1, ensure_ascii=False) + "\n")
    if not args.quiet:
        for r in summary.values():
            if r.get("build_error"):
                print(f"\n=== {r['build_error']}\n")
        print(text)
        print(f"\nwrote {out / 'results.json'} and {out / 'junit.xml'}")


def not_run_summary(not_run):
    """'1 test not run here (06-close: test_x: this host has no IPv6 loopback (::1))'."""
    first = not_run[0]
    more = f" and {len(not_run) - 1} more" if len(not_run) > 1 else ""
    return (f"{len(not_run)} test{'s' if len(not_run) > 1 else ''} not run here "
            f"({first['test']}: {first['why']}{more})")


def write_junit(path, results):
    """One <testsuite> per lesson, holding its testcases from the pytest runs."""
    suites = ET.Element("testsuites")
    for lesson, r in results.items():
        suite = ET.SubElement(suites, "testsuite", name=lesson)
        cases = []
        for xml in r["junit"]:
            try:
                cases.extend(c for c in ET.fromstring(xml).iter("testcase")
                             if (c.get("classname") or "").startswith(f"lessons.{lesson}."))
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
    here from grader/Dockerfile when missing and `build`)."""
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode != 0:
            return False
        if subprocess.run(["docker", "image", "inspect", DOCKER_IMAGE], capture_output=True,
                          timeout=20).returncode == 0:
            return True
        if not build:
            return False
        print(f"grade: building the image {DOCKER_IMAGE} (grader/Dockerfile)", file=sys.stderr)
        return subprocess.run(["docker", "build", "-q", "-t", DOCKER_IMAGE, "--build-arg",
                               f"BASE_IMAGE={os.environ.get('BASE_IMAGE', 'debian:bookworm-slim')}",
                               "-f", str(ROOT / "grader/Dockerfile"), str(ROOT / "grader")],
                              stdout=subprocess.DEVNULL, timeout=900).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def clear_out(out):
    """Remove what an earlier run wrote to `out` (and only that). As root, `out`
    becomes root's and 0755: the student's uid cannot add to it."""
    out.mkdir(parents=True, exist_ok=True)
    if ROOTED:
        os.chown(out, 0, 0)
        os.chmod(out, 0o755)
    for pattern in ("results.json", "junit.xml", "grade.json", "*.log"):
        for f in out.glob(pattern):
            f.unlink()


def docker_runner(argv, cwd):
    """Run argv in the grader image with `cwd` at /kit (to build a kit there)."""
    r = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{cwd}:/kit", "-w", "/kit",
                        DOCKER_IMAGE, *argv], capture_output=True, text=True, timeout=900)
    return r.returncode, r.stdout + r.stderr


def grade_in_docker(args, student_tree, out):
    """Run this same script in the grader image, as root there with few
    capabilities: no network (only the container's loopback), read-only root
    file system, memory/pids/CPU limits; the kit (no reference solution) at
    /grader and the submission's lesson files at /submission, read-only."""
    kit = kitmod.ensure_kit("docker", runner=docker_runner)
    # The uid is the host's to hand out: containers share the host's users, and
    # so the process limit per uid (one fork bomb must not starve another run).
    uid = allocate_uid() if ROOTED else 61999
    owner = f"{os.getuid()}:{os.getgid()}"
    # --network none leaves the container's loopback without ::1 (IPv6 off in
    # a new namespace): lesson 06's IPv6 test needs it.
    ipv6 = ["--sysctl", "net.ipv6.conf.lo.disable_ipv6=0"] if Path("/proc/sys/net/ipv6").is_dir() else []
    argv = ["docker", "run", "--rm", "--network", "none", *ipv6, "--read-only", "--memory", "2g", "--memory-swap", "2g",
            "--pids-limit", "512", "--cpus", "2", "--security-opt", "no-new-privileges",
            "--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "DAC_OVERRIDE", "--cap-add", "FOWNER",
            "--cap-add", "SETUID", "--cap-add", "SETGID", "--cap-add", "KILL", "--cap-add", "SYS_PTRACE",
            "--tmpfs", "/tmp:exec,size=256m,mode=1777", "--tmpfs", "/var/tmp:exec,size=512m,mode=1777",
            "-v", f"{kit}:/grader:ro", "-v", f"{student_tree}:/submission:ro", "-v", f"{out}:/out",
            "-e", f"GRADE_OUT_OWNER={owner}", DOCKER_IMAGE,
            "python3", "-I", "/grader/grader/grade.py", "/submission", "--out", "/out", "--docker", "no",
            "--kit", "/grader", "--uid", str(uid), "--timeout", str(args.timeout), "--limit", str(args.limit), "--quiet",
            *sum((["--lesson", l] for l in args.lesson), [])]
    try:
        r = subprocess.run(argv, timeout=args.limit + 300, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        rc, text = r.returncode, r.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, text = 1, "the container did not finish in time"
    if rc != 0 or not (out / "results.json").exists():
        print(f"grade: grading in the {DOCKER_IMAGE} container failed (exit {rc}):\n{text[-3000:]}",
              file=sys.stderr)
        return 1
    if not args.quiet:
        results = json.loads((out / "results.json").read_text())
        print(results["output"])
        print(f"\nwrote {out / 'results.json'} and {out / 'junit.xml'}")
        print(f"(graded in the {DOCKER_IMAGE} container: no network, limits, the student's code as its own uid)")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="grade a socketlab submission (a folder or a .zip/.tar.gz)")
    ap.add_argument("submission", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "grade")
    ap.add_argument("--lesson", action="append", default=[], help="grade only this lesson (repeatable)")
    ap.add_argument("--docker", choices=("auto", "yes", "no"), default=os.environ.get("GRADE_DOCKER", "auto"),
                    help="grade inside the socketlab-grader container: auto (when docker info works), yes, no")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("GRADE_TIMEOUT", "30")),
                    help="seconds per test (default 30)")
    ap.add_argument("--limit", type=int, default=GRADE_LIMIT, help=f"seconds for the whole submission "
                    f"(default {GRADE_LIMIT})")
    ap.add_argument("--kit", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--uid", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true", help="no table on the terminal")
    ap.add_argument("--cache", type=Path, default=None, help="reuse and keep the results of lessons whose "
                    "files were graded before, byte for byte (grade-all: OUT/.cache)")
    args = ap.parse_args(argv)
    known = kitmod.lessons(ROOT)
    unknown = [l for l in args.lesson if l not in known]
    if unknown:
        print(f"grade: no lesson {unknown[0]} (lessons: {' '.join(known)})", file=sys.stderr)
        return 2
    out = args.out.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="socketlab-submission-"))
    try:
        try:
            student_tree = open_submission(args.submission, scratch)
        except Refused as e:
            print(f"grade: refused: {e}", file=sys.stderr)
            return 2
        if args.docker == "yes" and not docker_ready():
            print(f"grade: no Docker engine or no image {DOCKER_IMAGE}; grade locally with --docker no",
                  file=sys.stderr)
            return 2
        clear_out(out)
        use_docker = args.docker == "yes" or (args.docker == "auto" and args.kit is None and docker_ready())
        if args.cache:
            return grade_with_cache(args, student_tree, out, known, use_docker)
        return grade_one_way(args, student_tree, out, use_docker)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def grade_one_way(args, student_tree, out, use_docker):
    """Grade args.lesson (or every lesson) in the container or here; exit code."""
    if use_docker:
        return grade_in_docker(args, student_tree, out)
    if not ROOTED and not args.quiet:
        print("grade: not root: the submission's programs run as you, without a sandbox "
              "(run as root, or with Docker, to grade untrusted code)", file=sys.stderr)
    try:
        kit = args.kit or kitmod.ensure_kit("local")
    except kitmod.KitError as e:
        print(f"grade: {e}", file=sys.stderr)
        return 1
    rc = grade_here(args, student_tree, kit, out)
    owner = os.environ.get("GRADE_OUT_OWNER")
    if owner and ROOTED:
        u, g = (int(x) for x in owner.split(":"))
        for f in out.iterdir():
            os.chown(f, u, g)
    return rc


def grade_with_cache(args, student_tree, out, known, use_docker):
    """grade-all's way: the lessons whose files a classmate already handed in,
    byte for byte, take the stored result (lessoncache.py); the others are
    graded and stored; the results are written as one. A lesson a classmate's
    grading is running right now (its lock is held) is waited for, not graded
    twice: this submission grades its other lessons meanwhile."""
    from grader import lessoncache
    from grader.handout import LESSON_POINTS
    started = time.monotonic()
    wanted = args.lesson or known
    kit_hash = kitmod.kit_hash(kitmod.kit_sources())
    mode = "docker" if use_docker else "local"
    keys = {l: lessoncache.key(kit_hash, mode, args.timeout, l, lessoncache.files_of(student_tree, l, known))
            for l in wanted}
    summary, cached, status = {}, [], "ok"

    def from_cache(l):
        e = lessoncache.load(args.cache, keys[l])
        if e is not None:
            summary[l] = {"build_error": e["build_error"], "tests": e["tests"], "junit": [lessoncache.junit_of(e)]}
            cached.append(l)
        return e is not None

    def grade_now(lessons):
        """Grade these lessons in one run, keep their results; the run's status."""
        quiet, args.quiet, args.lesson = args.quiet, True, lessons
        rc = grade_one_way(args, student_tree, out, use_docker)
        args.quiet = quiet
        if rc != 0:
            raise GradeFailed(rc)
        results = json.loads((out / "results.json").read_text())
        graded = json.loads((out / "grade.json").read_text())
        junit = (out / "junit.xml").read_text(errors="replace")
        for l in lessons:
            tests = [t for t in results["tests"] if t["extra_data"]["lesson"] == l]
            error = graded.get("build_errors", {}).get(l, "")
            summary[l] = {"build_error": error, "tests": tests, "junit": [junit]}
            if graded["status"].split(":")[0] in ("ok", "build failed", "grader problem"):
                lessoncache.store(args.cache, keys[l], l, tests, error, junit)
        return graded["status"]

    mine, busy = {}, []
    try:
        for l in wanted:
            if from_cache(l):
                continue
            lock = lessoncache.try_lock(args.cache, keys[l])
            if lock is None:
                busy.append(l)              # a classmate's grading runs it now
            elif from_cache(l):             # it finished between our look and our lock
                lock.close()
            else:
                mine[l] = lock
        if mine:
            status = grade_now(list(mine))
    except GradeFailed as e:
        return e.rc
    finally:
        for lock in mine.values():
            lock.close()
    late = []
    for l in busy:
        lessoncache.wait_for(args.cache, keys[l])
        if not from_cache(l):
            late.append(l)                  # its result was not clean: ours to grade
    if late:
        try:
            late_status = grade_now(late)
        except GradeFailed as e:
            return e.rc
        status = status if status.split(":")[0] != "ok" else late_status
    summary = {l: summary[l] for l in wanted}
    if status.split(":")[0] in ("ok", "build failed", "grader problem"):
        status = "ok"                       # write_results says it again, for every lesson
    write_results(out, summary, {l: {"points": LESSON_POINTS.get(l, 0)} for l in wanted}, status,
                  time.monotonic() - started, args)
    g = json.loads((out / "grade.json").read_text())
    g["same_as_graded_before"] = sorted(cached)
    (out / "grade.json").write_text(json.dumps(g, indent=1, ensure_ascii=False) + "\n")
    return 0


class GradeFailed(Exception):
    def __init__(self, rc):
        super().__init__(rc)
        self.rc = rc


if __name__ == "__main__":
    sys.exit(main())
