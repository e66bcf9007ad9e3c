"""kit.py - the grader's kit: everything grading needs except the solutions.

A kit is a directory with the kit's Makefile, mk/, src/ (with the interposer
and its make rules in src/interpose/), include/, the test harness and the
lessons' tests, and for each lesson's program the handout's stub (never the
reference solution), plus kit.json (lessons, their programs and points).
`build_kit` then builds it before any student code runs: the library, the
fault/trace preload library, the fault supervisor (tools/sysfault.c) and
the static `runas` wrapper (grader/runas.c) in kit/build/.

Grading copies a kit, puts the student's lesson files in place of the
stubs and builds only those. Kits are cached under build/grader-kit/,
named by a hash of their files, so a class is graded with one kit build.
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader import handout  # noqa: E402

# Top-level files and folders of the kit that grading uses (missing ones are skipped).
KIT_FILES = ("Makefile", "conftest.py", "pytest.ini")
KIT_DIRS = ("mk", "src", "include", "po")
GRADER_BIN = "build/.grader/runas"


class KitError(Exception):
    pass


def lessons(root=ROOT):
    """The lessons, from the lessons directory (each NN-name folder), in order."""
    return sorted(p.name for p in (root / "lessons").glob("[0-9][0-9]-*") if p.is_dir())


def _files_under(d):
    return sorted(p for p in d.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def kit_sources(root=ROOT):
    """{relative path: bytes} of a kit made from the kit at `root` (the solution).
    From the file system, not git: a lesson or library file being written is
    graded as it is now."""
    root = Path(root)
    paths = [root / f for f in KIT_FILES if (root / f).is_file()]
    for d in KIT_DIRS:
        if (root / d).is_dir():
            paths += _files_under(root / d)
    paths += sorted((root / "tests").glob("*.py")) + sorted((root / "grader").glob("*.py"))
    # The grader's own C: runas (the student's uid) and sysfault (faults
    # made from outside the program), built before any student code.
    paths += [root / "grader" / "runas.c", root / "tools" / "sysfault.c"]
    files = {str(p.relative_to(root)): p.read_bytes() for p in paths}
    info = {}
    for lesson in lessons(root):
        ldir = root / "lessons" / lesson
        if (ldir / "tests").is_dir():
            for p in _files_under(ldir / "tests"):
                files[str(p.relative_to(root))] = p.read_bytes()
        holes, stubs = {}, {}
        for p in sorted(ldir.glob("*.[ch]")):
            rel = str(p.relative_to(root))
            text = p.read_text()
            files[rel] = handout.strip_solutions(text, rel).encode()
            steps = sorted({step for step, _, _ in handout.solution_regions(text, rel)})
            if steps and p.suffix == ".c":
                holes[p.stem] = steps
                stubs[p.stem] = hashlib.sha256(files[rel]).hexdigest()
        progs = sorted(p.stem for p in ldir.glob("*.c"))
        if progs:
            # holes: the steps each program's handout stub leaves to the student
            # (the plugin gives no points to a lesson none of whose holes is written).
            # stubs: the handout's text of each program with holes, by hash (a
            # lesson handed in untouched is not run: it cannot earn a point).
            info[lesson] = {"programs": progs, "points": handout.LESSON_POINTS.get(lesson, 0), "holes": holes,
                            "stubs": stubs}
    files["kit.json"] = (json.dumps({"lessons": info}, indent=1) + "\n").encode()
    return files


def kit_hash(files):
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()[:16]


def write_kit(dst, files):
    for rel, data in files.items():
        p = Path(dst) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        if rel.startswith("tools/") or rel.endswith(".sh"):
            p.chmod(0o755)


def build_kit(kit, runner=None):
    """Build the library, the preload libraries and runas in kit/build (as the
    grader, before any student code). `runner(argv, cwd)` runs a command
    (default: here); it returns (rc, output)."""
    runner = runner or _run_here
    script = ("make -s -j2 BUILD=build all && mkdir -p build/.grader && "
              "cc -static -O2 -std=c11 -Wall -Wextra -Werror -o build/.grader/runas grader/runas.c && "
              "rm -rf " + " ".join(f"build/{l}" for l in json.loads((Path(kit) / "kit.json").read_text())["lessons"]))
    rc, out = runner(["sh", "-c", script], kit)
    if rc != 0:
        raise KitError(f"the grader's kit does not build (grader/kit.py):\n{out[-3000:]}")


def _run_here(argv, cwd):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600,
                       env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"})
    return r.returncode, r.stdout + r.stderr


def ensure_kit(flavour="local", runner=None, cache=None):
    """The built kit for this kit's sources: from the cache, or made now.
    `flavour` names how it was built (local, docker)."""
    files = kit_sources()
    cache = Path(cache or ROOT / "build" / "grader-kit")
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o700)
    kit = cache / f"{flavour}-{kit_hash(files)}"
    with open(cache / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (kit / GRADER_BIN).exists():
            return kit
        tmp = Path(tempfile.mkdtemp(prefix=f".{flavour}-", dir=cache))
        try:
            os.chmod(tmp, 0o755)
            write_kit(tmp, files)
            build_kit(tmp, runner)
            for old in cache.glob(f"{flavour}-*"):
                shutil.rmtree(old, ignore_errors=True)
            tmp.rename(kit)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return kit


def kit_info(kit):
    return json.loads((Path(kit) / "kit.json").read_text())["lessons"]
