"""lessoncache.py - a lesson graded once per class: the same files, the same result.

grade-all passes `--cache DIR` to grade.py. A lesson's result (its tests,
its build error, its JUnit cases) is stored under a key made of everything
that decides it: the grader's kit (its hash: library, harness, tests,
grader), how it is graded (docker or local, the per-test timeout), the
lesson, and the bytes of the student's files its programs are built from
(lessons/L/*.c, and for a lesson without a client of its own the client.c
of the latest earlier lesson that has one, as the Makefile borrows it).
A second student whose files are the same byte for byte (an untouched
lesson, a shared reference copy) gets the stored result instead of a second
run. Only clean results are stored: no test timed out or crashed the
harness, none left out by the grader's machine, the grading not stopped.
"""
import hashlib
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

UNCLEAN = ("timed out", "crashed", "error")


def files_of(tree, lesson, lessons):
    """The student's files lesson `lesson`'s programs are built from: {rel: bytes}."""
    tree = Path(tree)
    own = sorted((tree / "lessons" / lesson).glob("*.c"))
    out = {str(p.relative_to(tree)): p.read_bytes() for p in own}
    if not (tree / "lessons" / lesson / "client.c").exists():
        earlier = [l for l in sorted(lessons) if l < lesson and (tree / "lessons" / l / "client.c").exists()]
        if earlier:
            p = tree / "lessons" / earlier[-1] / "client.c"
            out[str(p.relative_to(tree))] = p.read_bytes()
    return out


def key(kit_hash, mode, timeout, lesson, files):
    h = hashlib.sha256(f"{kit_hash}\0{mode}\0{timeout}\0{lesson}\0".encode())
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()[:32]


def load(cache, k):
    try:
        return json.loads((Path(cache) / f"{k}.json").read_text())
    except (OSError, ValueError):
        return None


def clean(tests):
    return tests and not any(t.get("extra_data", {}).get("why") in UNCLEAN or t.get("extra_data", {}).get("not_run")
                             for t in tests)


def store(cache, k, lesson, tests, build_error, junit_xml):
    """Keep one lesson's result under key k (atomically: two graders may race)."""
    if not clean(tests):
        return False
    cases = []
    try:
        for c in ET.fromstring(junit_xml).iter("testcase"):
            if (c.get("classname") or "").startswith(f"lessons.{lesson}."):
                cases.append(ET.tostring(c, encoding="unicode"))
    except ET.ParseError:
        pass
    Path(cache).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump({"lesson": lesson, "tests": tests, "build_error": build_error, "junit": cases}, f,
                  ensure_ascii=False)
    os.replace(tmp, Path(cache) / f"{k}.json")
    return True


def junit_of(entry):
    """The stored JUnit cases as a document write_junit() reads."""
    return "<testsuites><testsuite>" + "".join(entry.get("junit", [])) + "</testsuite></testsuites>"


def try_lock(cache, k):
    """The lock of key k (an open file), or None when another grading holds it."""
    import fcntl
    Path(cache).mkdir(parents=True, exist_ok=True)
    f = open(Path(cache) / f"{k}.lock", "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def wait_for(cache, k):
    """Wait until no grading holds key k's lock."""
    import fcntl
    with open(Path(cache) / f"{k}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
