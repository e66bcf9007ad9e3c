"""test_redteam.py - hostile submissions gain nothing (grader/redteam/).

Each payload is pasted into lesson 01's server.c of a submission made from
the handout (build/handout's layout) with the reference solution for 01-socket
and 03-listen; 04-accept stays the handout's stub. Graded on those three
lessons, locally (as root: the sandbox) and in Docker mode (marked docker):

- 01-socket scores what its real code earns: all its points when the payload
  leaves the program working ("expect: full"; a payload that manages what it
  must not exits 3 and loses them), 0 when it breaks it ("expect: zero");
- 03-listen (the reference) and 04-accept (the handout) score as they do alone;
- results.json does not change after grading ends (a daemon keeps trying);
- no payload process is left; no solution text is in the feedback;
- the grader finishes within its limits.

Also: submissions as archives and odd folders, graded or refused with one line.
"""
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
from labharness import wait_until  # noqa: E402

GRADE = ROOT / "grader" / "grade.py"
PAYLOADS = sorted((ROOT / "grader" / "redteam").glob("*.c"))
TARGET, REFERENCE, STUB = "01-socket", "03-listen", "04-accept"
TIMEOUT = 10                # seconds per test: payloads that hang cost this much per test
MODES = ["local", pytest.param("docker", marks=pytest.mark.docker)]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason=(
    "the sandbox needs root (a uid of its own for the student's code, namespaces)"))]


def header(path):
    text = path.read_text()
    fields = dict(re.findall(r"^ \* (lesson|expect): (\S+)", text, re.M))
    return fields["lesson"], fields["expect"], text


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def need(mode):
    if mode == "docker" and not docker_available():
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")


@pytest.fixture(scope="module")
def scratch():
    d = Path(tempfile.mkdtemp(prefix="socketlab-redteam-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def base(scratch):
    """The handout, with the reference solution in 01-socket and 03-listen."""
    tree = handout.make_handout(scratch / "handout")
    for lesson in (TARGET, REFERENCE):
        for c in (ROOT / "lessons" / lesson).glob("*.c"):
            shutil.copy(c, tree / "lessons" / lesson / c.name)
    return tree


def with_payload(base, dst, payload):
    lesson, _, text = header(payload)
    shutil.copytree(base, dst)
    server = dst / "lessons" / lesson / "server.c"
    src = server.read_text()
    m = re.search(r"^int main\(.*\)\n\{\n", src, re.M)
    assert m, f"{server}: no `int main(...)` followed by `{{`"
    text = text.replace("@KIT@", str(ROOT))
    server.write_text(src[:m.start()] + text + "\n" + m.group(0) + "    redteam();\n" + src[m.end():])
    return dst


def grade(tree, out, mode, *extra):
    started = time.monotonic()
    r = subprocess.run([sys.executable, str(GRADE), str(tree), "--out", str(out), "--docker",
                        "yes" if mode == "docker" else "no", "--quiet", "--timeout", str(TIMEOUT),
                        "--lesson", TARGET, "--lesson", REFERENCE, "--lesson", STUB, *extra],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((out / "results.json").read_text()), time.monotonic() - started


def lesson_score(results, lesson):
    return sum(t["score"] for t in results["tests"] if t["extra_data"]["lesson"] == lesson)


def redteam_processes():
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().startswith("redteam"):
                found.append(comm.parent.name)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def baseline(base, scratch):
    """What the untouched base scores, per mode: {mode: results}."""
    cache = {}

    def get(mode):
        if mode not in cache:
            cache[mode] = grade(base, scratch / f"baseline-{mode}", mode)[0]
        return cache[mode]
    return get


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_hostile_submission_gains_nothing(base, baseline, scratch, payload, mode):
    need(mode)
    lesson, expect, _ = header(payload)
    assert lesson == TARGET
    ref = baseline(mode)
    assert lesson_score(ref, TARGET) == LESSON_POINTS[TARGET], ref["output"]
    assert lesson_score(ref, REFERENCE) == LESSON_POINTS[REFERENCE], ref["output"]

    tree = with_payload(base, scratch / f"{payload.stem}-{mode}" / "tree", payload)
    out = scratch / f"{payload.stem}-{mode}" / "out"
    results, seconds = grade(tree, out, mode)
    text = (out / "results.json").read_text()

    want = LESSON_POINTS[TARGET] if expect == "full" else 0
    assert lesson_score(results, TARGET) == want, results["output"]
    assert lesson_score(results, REFERENCE) == lesson_score(ref, REFERENCE), results["output"]
    assert lesson_score(results, STUB) == lesson_score(ref, STUB), results["output"]
    assert results["score"] == lesson_score(ref, REFERENCE) + lesson_score(ref, STUB) + want
    assert "redteam: " not in text, "a payload reports a hole in the sandbox:\n" + text[:3000]
    assert "BEGIN SOLUTION" not in text
    for f in out.iterdir():
        assert "BEGIN SOLUTION" not in f.read_text(errors="replace"), f

    assert not redteam_processes(), "a payload's process outlived the grading"
    assert not wait_until(lambda: (out / "results.json").read_text() != text, timeout=3), \
        "results.json changed after grading ended"
    # Everything hangs at most TIMEOUT per test of the target lesson, plus builds.
    assert seconds < 300


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES)
def test_a_submission_with_its_own_makefile_library_and_harness_changes_nothing(base, baseline, scratch, mode):
    """Everything but lessons/*/*.c is the grader's: a Makefile, src/, include/,
    tests/, conftest.py, mk/*.mk and build/*.d in the submission are ignored."""
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
    results, _ = grade(tree, scratch / f"own-kit-{mode}-out", mode)
    ref = baseline(mode)
    assert results["score"] == ref["score"], results["output"]
    assert [t["status"] for t in results["tests"]] == [t["status"] for t in ref["tests"]]
    assert "redteam" not in json.dumps(results)


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
