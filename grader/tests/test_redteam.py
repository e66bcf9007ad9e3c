"""test_redteam.py - hostile submissions gain nothing, leak nothing, leave nothing (grader/redteam/).

Each payload is pasted into a lesson file of a submission made from the
handout (its header says which lesson, file and place, and which of the
grader/mutants/ bugs to put in first); a lesson 01 payload goes into a
submission with the reference solution in 01-socket and 03-listen and the
handout's stub in 04-accept. Graded locally (as root: the bubblewrap
sandbox) and in Docker mode (marked docker), each checks:

- no gain: the payload's lesson scores what its real code earns ("expect:
  full" when the payload leaves the program working: a payload that manages
  what it must not exits 3 and loses them; "zero" when it breaks it; "stub"
  no more than the handout's stub; "mutants" no more than the same bugs
  without the trick; "any" at most full marks), the other lessons as alone;
- no leak: no solution text or classmate's file in the feedback, no
  "redteam: " report of a hole;
- no leftover: no process, file (/tmp, /var/tmp, /run, /dev/shm) or System V
  IPC object of the grading's uid or named by the payload on the machine
  afterwards; the machine's free memory back; results.json unchanged after
  grading; the harness's memory and files, junit.xml and the logs small; the
  grader done within its limits.

Then the intake (archive bombs, garbage, hostile names in a class) and a
grade-all that stops a grading as a whole. `make redteam` ends with a
table: attack, mode, held (grader/tests/conftest.py).
"""
import bz2
import csv
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from grader import handout  # noqa: E402
from grader.handout import LESSON_POINTS  # noqa: E402
from grader.mutants import all_mutants  # noqa: E402
from labharness import wait_until  # noqa: E402

GRADE = ROOT / "grader" / "grade.py"
GRADE_ALL = ROOT / "grader" / "grade_all.py"
PAYLOADS = sorted((ROOT / "grader" / "redteam").glob("*.c"))
TARGET, REFERENCE, STUB = "01-socket", "03-listen", "04-accept"
TIMEOUT = 10                # seconds per test: payloads that hang cost this much per test
MODES = ["local", pytest.param("docker", marks=pytest.mark.docker)]
# What a grading may leave in the harness and the results at most.
HARNESS_MB = 256            # the harness's resident memory (1.44 GB under 40 flooding clients once; 84 MB now)
RESULT_FILE_MB = 5          # any file the harness keeps (a strace log: 4 MB)
JUNIT_MB = 4
# How far the machine's shared memory (tmpfs, System V) and free memory may
# stay off where they were: others work on this machine too, so free memory
# catches only a grading's worth (--memory 640 holds the memory payloads).
SHMEM_SLACK_MB = 64
MEMORY_SLACK_MB = 1024
HOST_TMP = ("/tmp", "/var/tmp", "/run", "/run/lock", "/dev/shm")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason=(
    "the sandbox needs root (a uid of its own for the student's code, namespaces)"))]


def header(path):
    """A payload's header fields: lesson, expect, files, at, mutants, options."""
    text = path.read_text()
    fields = dict(re.findall(r"^ \* (lesson|expect|files|at|mutants|options): (.+)$", text, re.M))
    return {"lesson": fields["lesson"].strip(), "expect": fields["expect"].strip(),
            "files": fields.get("files", "server.c").split(), "at": fields.get("at", "main").strip(),
            "mutants": fields.get("mutants", "").split(), "options": fields.get("options", "").split(),
            "text": text}


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def need(mode):
    from grader.grade import sandbox_mode
    if mode == "local" and sandbox_mode() != "bwrap":
        pytest.skip("local mode's sandbox is bubblewrap, which cannot make its namespaces here "
                    "(apt-get install bubblewrap)")
    if mode == "docker" and not docker_available():
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")


def attack(request, name, mode):
    """Name the attack and the mode for `make redteam`'s table."""
    request.node.user_properties += [("attack", name), ("mode", mode)]


@pytest.fixture(scope="module")
def scratch():
    d = Path(tempfile.mkdtemp(prefix="socketlab-redteam-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def handout_tree(scratch):
    return handout.make_handout(scratch / "handout")


@pytest.fixture(scope="module")
def base(scratch, handout_tree):
    """The handout, with the reference solution in 01-socket and 03-listen."""
    tree = scratch / "base"
    shutil.copytree(handout_tree, tree)
    for lesson in (TARGET, REFERENCE):
        for c in (ROOT / "lessons" / lesson).glob("*.c"):
            shutil.copy(c, tree / "lessons" / lesson / c.name)
    return tree


def with_mutants(base, dst, lesson, names):
    """base with `lesson`'s reference files, then the named mutants applied."""
    shutil.copytree(base, dst)
    for c in (ROOT / "lessons" / lesson).glob("*.c"):
        shutil.copy(c, dst / "lessons" / lesson / c.name)
    by_name = {m.name: m for m in all_mutants()}
    for name in names:
        by_name[name].apply(dst)
    return dst


@pytest.fixture(scope="module")
def around():
    """Things a payload must not reach, outside the grader's tree: another
    copy of the kit with its reference solutions, and a grade-all class
    folder with a classmate's submission. {placeholder: path}."""
    made = []
    for prefix in ("socketlab-redteam-copy-", "socketlab-redteam-class-"):
        d = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
        d.chmod(0o755)
        made.append(d)
    copy, klass = made
    (copy / "lessons" / "05-send-recv").mkdir(parents=True)
    shutil.copy(ROOT / "lessons" / "05-send-recv" / "server.c", copy / "lessons" / "05-send-recv" / "server.c")
    bob = klass / "bob"
    (bob / "lessons" / TARGET).mkdir(parents=True)
    (bob / "lessons" / TARGET / "server.c").write_text("/* REDTEAM-CLASSMATE: bob's own work */\n")
    for d in [copy, klass, bob] + [p for p in copy.rglob("*") if p.is_dir()] + [p for p in bob.rglob("*") if p.is_dir()]:
        d.chmod(0o755)
    yield {"@COPY@": str(copy), "@CLASSMATE@": str(bob)}
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def mark_of(name, mode):
    """A name the payload leaves things under, unique to this run and test."""
    return f"redteam-leftover-{os.getpid()}-{name}-{mode}"


def with_payload(base, dst, payload, places):
    """A copy of base with the payload pasted into its lesson's files (at the
    top, after the #includes, or just before main) and `redteam();` first
    thing in main; the placeholders replaced."""
    h = header(payload)
    shutil.copytree(base, dst)
    text = h["text"].replace("@KIT@", str(ROOT))
    for key, value in places.items():
        text = text.replace(key, value)
    for name in h["files"]:
        path = dst / "lessons" / h["lesson"] / name
        src = path.read_text()
        m = re.search(r"^int main\(.*\)\n\{\n", src, re.M)
        assert m, f"{path}: no `int main(...)` followed by `{{`"
        src = src[:m.end()] + "    redteam();\n" + src[m.end():]
        if h["at"] == "top":
            last = list(re.finditer(r"^#include .*\n", src, re.M))[-1]
            src = src[:last.end()] + "\n" + text + "\n" + src[last.end():]
        else:
            src = src[:m.start()] + text + "\n" + src[m.start():]
        path.write_text(src)
    return dst


def grade(tree, out, mode, lessons, *extra):
    started = time.monotonic()
    r = subprocess.run([sys.executable, str(GRADE), str(tree), "--out", str(out), "--docker",
                        "yes" if mode == "docker" else "no", "--quiet", "--timeout", str(TIMEOUT),
                        *sum((["--lesson", l] for l in lessons), []), *extra],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((out / "results.json").read_text()), time.monotonic() - started


def lesson_score(results, lesson):
    return sum(t["score"] for t in results["tests"] if t["extra_data"]["lesson"] == lesson)


def redteam_processes(uid=None):
    """Payload processes (named redteam*) alive now. With `uid`, leave out
    those of the other gradings' uids (61000-61999): a payload runs as its
    grading's uid and cannot leave it, and under pytest-xdist another test's
    grading (its container's processes too) may be running right now."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if not comm.read_text().startswith("redteam"):
                continue
            owner = int(re.search(r"^Uid:\s+(\d+)", (comm.parent / "status").read_text(), re.M).group(1))
        except (OSError, AttributeError):
            continue
        if uid is not None and 61000 <= owner < 62000 and owner != int(uid):
            continue
        found.append(comm.parent.name)
    return found


def processes_of(uid):
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            m = re.search(r"^Uid:\s+(\d+)", status.read_text(), re.M)
        except OSError:
            continue
        if m and int(m.group(1)) == uid:
            found.append(status.parent.name)
    return found


def ipc_objects(uid, keys=()):
    """System V IPC objects of `uid` or with one of `keys`, from /proc/sysvipc."""
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        names = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(names, line.split()))
            if int(row.get("uid", -1)) == uid or int(row.get("key", 0)) in keys:
                found.append(f"{kind} {line.strip()}")
    return found


def host_files(uid, mark):
    """Files in the machine's temporary folders owned by `uid` or named by `mark`."""
    found = []
    for d in HOST_TMP:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if mark in e.name or e.stat(follow_symlinks=False).st_uid == uid:
                    found.append(e.path)
            except OSError:
                pass
    return found


def meminfo_mb(field):
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    return int(m.group(1)) // 1024


def memory_now():
    return {"MemAvailable": meminfo_mb("MemAvailable"), "Shmem": meminfo_mb("Shmem")}


def ipc_keys(mark):
    key = 0x5ED70000 + (int(hashlib.sha256(mark.encode()).hexdigest(), 16) & 0xFFF0)
    return key, set(range(key, key + 16))


def assert_nothing_left(out, mark, keys, memory_before):
    """No process, file or IPC object of the grading's uid (or named by the
    payload), no cgroup or container outlives it; the machine's memory comes back."""
    grade_json = json.loads((out / "grade.json").read_text())
    sandbox = grade_json.get("sandbox", {})
    uid = sandbox.get("uid")
    assert uid, f"grade.json names no sandbox uid: {grade_json}"
    assert not processes_of(uid), f"processes of the grading's uid {uid} outlived it: {processes_of(uid)}"
    assert not redteam_processes(uid), f"a payload's process outlived the grading: {redteam_processes(uid)}"
    assert not host_files(uid, mark), f"left on the machine: {host_files(uid, mark)}"
    assert not ipc_objects(uid, keys), f"System V IPC left on the machine: {ipc_objects(uid, keys)}"
    assert not [d for d in sandbox.get("cgroups", []) if Path(d).exists()], sandbox
    if sandbox.get("container"):
        r = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=^/{sandbox['container']}$"],
                           capture_output=True, text=True, timeout=60)
        assert not r.stdout.strip(), f"container {sandbox['container']} outlived the grading"
    back = lambda: (memory_now()["Shmem"] < memory_before["Shmem"] + SHMEM_SLACK_MB and    # noqa: E731
                    memory_now()["MemAvailable"] > memory_before["MemAvailable"] - MEMORY_SLACK_MB)
    assert wait_until(back, timeout=15), f"memory now {memory_now()}, before the grading {memory_before}"
    return sandbox


def assert_bounded(out, sandbox):
    """What the grading kept stays small: the harness's memory and files, junit.xml, the logs."""
    assert sandbox["harness_peak_mb"] < HARNESS_MB, sandbox
    assert sandbox["largest_file_mb"] <= RESULT_FILE_MB, sandbox
    assert (out / "junit.xml").stat().st_size < JUNIT_MB << 20
    assert (out / "results.json").stat().st_size < 1 << 20
    for log in out.glob("*.log"):
        assert log.stat().st_size < 3 << 20, log


@pytest.fixture(scope="module")
def baseline(scratch, base, handout_tree):
    """Scores of trees without a payload, per mode: {(mode, key): results}."""
    cache = {}

    def get(mode, key, lessons, make):
        if (mode, key) not in cache:
            tree = make(scratch / f"baseline-{key}-{mode}-tree")
            cache[(mode, key)] = grade(tree, scratch / f"baseline-{key}-{mode}", mode, lessons)[0]
        return cache[(mode, key)]
    return get


def lessons_for(h):
    return [TARGET, REFERENCE, STUB] if h["lesson"] == TARGET else [h["lesson"]]


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_hostile_submission_gains_nothing_leaks_nothing_leaves_nothing(request, base, handout_tree, baseline,
                                                                      around, scratch, payload, mode):
    attack(request, payload.stem, mode)
    need(mode)
    h = header(payload)
    lesson, lessons = h["lesson"], lessons_for(h)
    if h["mutants"]:
        start = lambda d: with_mutants(base, d, lesson, h["mutants"])    # noqa: E731
    else:
        start = lambda d: shutil.copytree(base, d)                        # noqa: E731
    ref = baseline(mode, "base", [TARGET, REFERENCE, STUB], lambda d: shutil.copytree(base, d))
    assert lesson_score(ref, TARGET) == LESSON_POINTS[TARGET], ref["output"]
    assert lesson_score(ref, REFERENCE) == LESSON_POINTS[REFERENCE], ref["output"]

    mark = mark_of(payload.stem, mode)
    key, keys = ipc_keys(mark)
    places = {**around, "@MARK@": mark, "@KEY@": hex(key)}
    work = scratch / f"{payload.stem}-{mode}"
    tree = with_payload(start(work / "start"), work / "tree", payload, places)
    out = work / "out"
    memory_before = memory_now()
    results, seconds = grade(tree, out, mode, lessons, *h["options"])
    text = (out / "results.json").read_text()

    full = LESSON_POINTS[lesson]
    got = lesson_score(results, lesson)
    if h["expect"] == "full":
        assert got == full, results["output"]
    elif h["expect"] == "zero":
        assert got == 0, results["output"]
    elif h["expect"] == "stub":
        stub = baseline(mode, "handout", [lesson], lambda d: shutil.copytree(handout_tree, d))
        assert got <= lesson_score(stub, lesson), results["output"]
    elif h["expect"] == "mutants":
        alone = baseline(mode, "mutants-" + "-".join(h["mutants"]), [lesson], start)
        assert got <= lesson_score(alone, lesson) < full, results["output"]
    else:
        assert h["expect"] == "any" and got <= full, h["expect"]
    if lesson == TARGET:
        assert lesson_score(results, REFERENCE) == lesson_score(ref, REFERENCE), results["output"]
        assert lesson_score(results, STUB) == lesson_score(ref, STUB), results["output"]
        assert results["score"] == lesson_score(ref, REFERENCE) + lesson_score(ref, STUB) + got

    assert "redteam: " not in text, "a payload reports a hole in the sandbox:\n" + text[:3000]
    for f in out.iterdir():
        said = f.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in said and "REDTEAM-CLASSMATE" not in said, f
    sandbox = assert_nothing_left(out, mark, keys, memory_before)
    assert_bounded(out, sandbox)
    assert not wait_until(lambda: (out / "results.json").read_text() != text, timeout=3), \
        "results.json changed after grading ended"
    # Everything hangs at most TIMEOUT per test of the graded lessons, plus builds.
    assert seconds < 400


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES)
def test_a_submission_with_its_own_makefile_library_and_harness_changes_nothing(request, base, baseline, scratch,
                                                                               mode):
    """Everything but lessons/*/*.c is the grader's: a Makefile, src/, include/,
    tests/, conftest.py, mk/*.mk and build/*.d in the submission are ignored."""
    attack(request, "own Makefile, library, harness", mode)
    need(mode)
    tree = scratch / f"own-kit-{mode}"
    shutil.copytree(base, tree)
    forge = "import atexit, json\natexit.register(lambda: None)\nraise SystemExit('redteam: harness replaced')\n"
    (tree / "Makefile").write_text("all:\n\t@echo redteam: my Makefile ran >&2; exit 1\n")
    (tree / "mk" / "redteam.mk").write_text("$(error redteam: my mk file was read)\n")
    (tree / "conftest.py").write_text(forge)
    (tree / "tests" / "labharness.py").write_text(forge)
    (tree / "lessons" / STUB / "tests" / "test_accept.py").write_text(
        "import pytest\n@pytest.mark.lesson('04-accept')\n@pytest.mark.points(20)\ndef test_free(): pass\n")
    for c in (tree / "src").glob("*.c"):
        c.write_text("#error redteam: my library was compiled\n")
    (tree / "include" / "trace.h").write_text("#error redteam: my header was used\n")
    (tree / "build" / "01-socket").mkdir(parents=True)
    (tree / "build" / "01-socket" / "server.d").write_text("all:\n\t@echo redteam: my .d was read >&2\n")
    (tree / "build" / "redteam.d").write_text("$(error redteam: my .d was read)\n")
    results, _ = grade(tree, scratch / f"own-kit-{mode}-out", mode, [TARGET, REFERENCE, STUB])
    ref = baseline(mode, "base", [TARGET, REFERENCE, STUB], lambda d: shutil.copytree(base, d))
    assert results["score"] == ref["score"], results["output"]
    assert [t["status"] for t in results["tests"]] == [t["status"] for t in ref["tests"]]
    assert "redteam" not in json.dumps(results)


# --- the intake ------------------------------------------------------------------

def bzip2_tar_bomb(path, member_size):
    """A .tar (bzip2 inside, whatever its name) whose one member is
    `member_size` bytes of zeros: a few KB on disk. Made of bzip2 streams of
    16 MB each, one after the other (as `cat a.bz2 b.bz2` makes)."""
    info = tarfile.TarInfo("junk/zeros")
    info.size = member_size
    chunk = bz2.compress(bytes(16 << 20))
    with open(path, "wb") as f:
        f.write(bz2.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
        for _ in range(member_size // (16 << 20)):
            f.write(chunk)
        f.write(bz2.compress(bytes(-member_size % 512 + 1024)))
    return path


def many_members_tgz(path, count):
    files = reference_files()
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for i in range(count):
            t.addfile(tarfile.TarInfo(f"junk/{i}"))
    return path


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ["bzip2-bomb", "members-bomb", "many-small-members", "garbage-tgz"])
def test_an_archive_bomb_is_refused_at_once_with_one_line(request, scratch, case, mode):
    """A 3 KB .tar with a 1 GB member of zeros, a .tar.gz of 20,000 members,
    150 members of 1 MB (zeros, bzip2), garbage named .tar.gz: each refused in
    seconds, on one line (`grade: refused: ...`), exit 2."""
    attack(request, f"intake: {case}", mode)
    need(mode)
    d = scratch / f"intake-{case}-{mode}"
    d.mkdir()
    if case == "bzip2-bomb":
        sub = bzip2_tar_bomb(d / "bomb.tar", 1 << 30)
    elif case == "members-bomb":
        sub = many_members_tgz(d / "many.tar.gz", 20000)
    elif case == "many-small-members":
        sub = d / "small.tar"
        with tarfile.open(sub, "w:bz2") as t:
            for i in range(150):
                info = tarfile.TarInfo(f"junk/{i}")
                info.size = 1 << 20
                t.addfile(info, io.BytesIO(bytes(1 << 20)))
    else:
        sub = d / "mallory.tar.gz"
        sub.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(4000))
    started = time.monotonic()
    r = subprocess.run([sys.executable, str(GRADE), str(sub), "--out", str(d / "out"), "--quiet",
                        "--docker", "yes" if mode == "docker" else "no", "--lesson", TARGET],
                       capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - started
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("grade: refused: "), r.stderr
    # Stopped at the limit it ran into, not after reading everything.
    assert {"bzip2-bomb": "more than 100 MB", "members-bomb": "more than 10000 files",
            "many-small-members": "more than 100 MB", "garbage-tgz": "does not unpack"}[case] in lines[0], lines
    assert seconds < 20, f"the intake took {seconds:.1f}s"


def class_folder(root, students):
    """A grade-all class folder: {name: "ref" | "garbage"} -> path."""
    klass = root / "class"
    klass.mkdir(parents=True)
    for name, what in students.items():
        p = klass / name
        if what == "garbage":
            p.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(2000))
        elif name.endswith(".zip"):
            make_zip(p, reference_files())
        else:
            for rel, data in reference_files().items():
                (p / rel).parent.mkdir(parents=True, exist_ok=True)
                (p / rel).write_bytes(data)
    return klass


def grade_all(klass, out, mode, *extra, timeout=900):
    return subprocess.run([sys.executable, str(GRADE_ALL), str(klass), "--out", str(out), "--jobs", "2",
                           "--docker", "yes" if mode == "docker" else "no", "--lesson", TARGET,
                           "--timeout", str(TIMEOUT), *extra], capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", MODES)
def test_grade_all_takes_hostile_names_and_refusals_in_its_stride(request, scratch, mode):
    """A class with students named gradebook.csv (a folder) and gradebook.csv.zip,
    one whose name starts with `=` (a formula to a spreadsheet) and one whose
    .tar.gz is garbage: grade-all writes its gradebook (again on a rerun), each
    student's files under students/, the formula quoted, the garbage `refused`
    on one line and counted apart (the mean is the graded students')."""
    attack(request, "grade-all: hostile names, refusals", mode)
    need(mode)
    d = scratch / f"class-names-{mode}"
    klass = class_folder(d, {"alice": "ref", "gradebook.csv": "ref", "gradebook.csv.zip": "ref",
                             "=1+2": "ref", "mallory.tar.gz": "garbage"})
    out = d / "out"
    for run in (1, 2):
        r = grade_all(klass, out, mode, *(["--force"] if run == 2 else []))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stderr, r.stderr
        book = (out / "gradebook.csv").read_text().splitlines()
        rows = {row[0]: row for row in csv.reader(book[1:])}
        assert rows["alice"][1:3] == ["10", "10"] and rows["gradebook.csv"][1:3] == ["10", "10"], book
        assert [k for k in rows if k.endswith("=1+2")] == ["'=1+2"], book
        assert not any(k.startswith(("=", "+", "-", "@")) for k in rows), book
        assert rows["mallory"][-1].startswith("refused: "), book
        assert "graded 4 of 5 submissions; mean 10.0/10" in r.stdout, r.stdout
        assert (out / "students" / "gradebook.csv" / "results.json").is_file()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES)
def test_grade_all_stops_a_grading_that_runs_too_long_as_a_whole(request, scratch, base, mode):
    """A submission whose programs hang and leave daemons: grade-all stops its
    grading at its own time limit (here 25 s), and then nothing of it is left:
    no process of its uid, no container, cgroup or work folder; its uid free."""
    attack(request, "grade-all: orphans after a timeout", mode)
    need(mode)
    d = scratch / f"class-orphans-{mode}"
    student = d / "class" / "hangs"
    with_payload(base, student, ROOT / "grader" / "redteam" / "leave_daemons.c", {})
    hang = student / "lessons" / TARGET / "server.c"
    hang.write_text(hang.read_text().replace("    redteam();\n", "    redteam();\n    for (;;)\n        pause();\n", 1))
    out = d / "out"
    seen = {}

    def note_run():
        try:
            seen.update(json.loads((out / "students" / "hangs" / "run.json").read_text()))
        except (OSError, ValueError):
            pass
        return bool(seen)
    p = subprocess.Popen([sys.executable, str(GRADE_ALL), str(d / "class"), "--out", str(out), "--jobs", "1",
                          "--docker", "yes" if mode == "docker" else "no", "--lesson", TARGET,
                          "--timeout", str(TIMEOUT), "--kill-after", "25"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_until(note_run, timeout=120), "the grading never started (no run.json)"
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stdout + stderr
    book = (out / "gradebook.csv").read_text()
    assert "timed out" in book, book
    uid = seen["uid"]
    assert wait_until(lambda: not processes_of(uid), timeout=10), f"processes of uid {uid}: {processes_of(uid)}"
    assert not redteam_processes(uid), redteam_processes(uid)
    for folder in seen["folders"]:
        assert not Path(folder).exists(), f"{folder} was left"
    for cg in seen["cgroups"]:
        assert not Path(cg).exists(), f"cgroup {cg} was left"
    if seen.get("container"):
        r = subprocess.run(["docker", "ps", "-aq", "--filter", f"name={seen['container']}"], capture_output=True,
                           text=True, timeout=60)
        assert not r.stdout.strip(), f"container {seen['container']} was left"
    assert not (out / "students" / "hangs" / "run.json").exists()
    with open(f"/tmp/socketlab-grader-uid-{uid}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)       # raises if a grading still holds the uid


# --- submissions in any shape ------------------------------------------------

def run_grade(sub, out, *extra):
    return subprocess.run([sys.executable, str(GRADE), str(sub), "--out", str(out), "--docker", "no", "--quiet",
                           "--lesson", TARGET, *extra], capture_output=True, text=True, timeout=600)


def reference_files():
    return {f"lessons/{TARGET}/{c.name}": c.read_bytes() for c in (ROOT / "lessons" / TARGET).glob("*.c")}


def make_zip(path, files, symlinks=()):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return path


def make_tgz(path, files, links=()):
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            t.addfile(info)
    return path


@pytest.mark.timeout(600)
@pytest.mark.parametrize("shape", ["private-folder", "wrapped-folder", "zip", "wrapped-zip", "tar.gz",
                                   "wrapped-tar.gz"])
def test_a_submission_in_any_shape_is_graded(scratch, shape):
    d = scratch / f"shape-{shape}"
    d.mkdir()
    files = reference_files()
    if shape.startswith("wrapped"):
        files = {f"socketlab-main/{k}": v for k, v in files.items()}
    if shape.endswith("folder"):
        sub = Path(tempfile.mkdtemp(dir=d))          # 0700, as mktemp -d makes it
        for name, data in files.items():
            (sub / name).parent.mkdir(parents=True, exist_ok=True)
            (sub / name).write_bytes(data)
        os.chown(sub, 12345, 12345)                  # owned by someone else
    elif shape.endswith("zip"):
        sub = make_zip(d / "alice.zip", files)
    else:
        sub = make_tgz(d / "alice.tar.gz", files)
    r = run_grade(sub, d / "out")
    assert r.returncode == 0, r.stderr
    assert json.loads((d / "out" / "results.json").read_text())["score"] == LESSON_POINTS[TARGET]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["missing", "no-lessons", "not-an-archive", "corrupt-zip", "dotdot-zip",
                                  "absolute-tar", "symlink-zip", "symlink-tar", "symlinked-lesson-folder",
                                  "symlinked-file"])
def test_an_unusable_submission_is_refused_with_one_line(scratch, case):
    d = scratch / f"refuse-{case}"
    d.mkdir()
    files = reference_files()
    ref05 = str(ROOT / "lessons" / "05-send-recv" / "server.c")
    if case == "missing":
        sub = d / "nobody"
    elif case == "no-lessons":
        sub = d / "empty"
        (sub / "src").mkdir(parents=True)
    elif case == "not-an-archive":
        sub = d / "notes.txt"
        sub.write_text("hello\n")
    elif case == "corrupt-zip":
        sub = d / "bob.zip"
        sub.write_bytes(b"PK\x03\x04 this is not a zip")
    elif case == "dotdot-zip":
        sub = make_zip(d / "bob.zip", {**files, "../../etc/redteam": b"x"})
    elif case == "absolute-tar":
        sub = make_tgz(d / "bob.tar.gz", {**files, "/tmp/redteam": b"x"})
    elif case == "symlink-zip":
        sub = make_zip(d / "bob.zip", files, symlinks=[("lessons/05-send-recv/server.c", ref05)])
    elif case == "symlink-tar":
        sub = make_tgz(d / "bob.tar.gz", files, links=[("lessons/05-send-recv/server.c", ref05)])
    elif case == "symlinked-lesson-folder":
        sub = d / "carol"
        (sub / "lessons").mkdir(parents=True)
        (sub / "lessons" / TARGET).symlink_to(ROOT / "lessons" / TARGET)
    else:
        sub = d / "dave"
        (sub / "lessons" / TARGET).mkdir(parents=True)
        (sub / "lessons" / TARGET / "server.c").symlink_to(ROOT / "lessons" / TARGET / "server.c")
    r = run_grade(sub, d / "out")
    if case.startswith("symlinked"):
        # The links are not followed: the lesson has no server.c of its own, and earns nothing.
        if r.returncode == 0:
            assert json.loads((d / "out" / "results.json").read_text())["score"] == 0
            return
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("grade: refused: "), r.stderr


def test_the_harness_python_ignores_start_up_hooks_a_student_can_plant(tmp_path):
    """What a student's program can write (its HOME, TMPDIR, the variables it
    could pass on) never runs in the harness: user site .pth files,
    sitecustomize/usercustomize, PYTHONPATH, PYTHONSTARTUP. The control run,
    without -I, shows each hook would run."""
    from grader.sandbox import harness_argv
    home = tmp_path / "home"
    site = home / ".local" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    site.mkdir(parents=True)
    (site / "zz-redteam.pth").write_text("import sys; sys.stderr.write('REDTEAM-PTH\\n')\n")
    (site / "usercustomize.py").write_text("import sys; sys.stderr.write('REDTEAM-USERCUSTOMIZE\\n')\n")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text("import sys; sys.stderr.write('REDTEAM-SITECUSTOMIZE\\n')\n")
    (hooks / "pytest.py").write_text("import sys; sys.stderr.write('REDTEAM-FAKE-PYTEST\\n')\n")
    (hooks / "startup.py").write_text("import sys; sys.stderr.write('REDTEAM-STARTUP\\n')\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(hooks),
           "PYTHONSTARTUP": str(hooks / "startup.py"), "PYTHONINSPECT": "", "TMPDIR": str(hooks)}
    argv = harness_argv("/usr/bin/python3", ROOT) + ["--version"]
    r = subprocess.run(argv, cwd=hooks, env=env, capture_output=True, text=True, timeout=120)
    assert "REDTEAM" not in r.stdout + r.stderr, r.stdout + r.stderr
    assert "pytest" in r.stdout + r.stderr, r.stdout + r.stderr
    control = subprocess.run([a for a in argv if a != "-I"], cwd=hooks, env=env, capture_output=True, text=True,
                             timeout=120)
    for hook in ("PTH", "USERCUSTOMIZE", "SITECUSTOMIZE"):
        assert f"REDTEAM-{hook}" in control.stderr, control.stderr
