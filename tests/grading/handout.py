"""handout.py - make the student handout from the kit (the solution).

    python3 tests/grading/handout.py [OUT]        (default: build/handout)

Copies every git-tracked file of the kit into OUT, except the grader's own
files, and replaces each solution region of the lessons' C files

    /* BEGIN SOLUTION */
    /* STUB: not_implemented(3); */
    ...the step's code...
    /* END SOLUTION */

by a `TODO(step N)` comment and the stub's code, so the handout builds,
runs ("step 3 not implemented yet") and fails its tests until the student
writes each step. Also writes OUT/.github/classroom/autograding.json.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BEGIN_RE = re.compile(r"^(\s*)/\* BEGIN SOLUTION \*/\s*$")
END_RE = re.compile(r"^\s*/\* END SOLUTION \*/\s*$")
STUB_RE = re.compile(r"^\s*/\* STUB: (.*) \*/\s*$")
STEP_RE = re.compile(r"not_implemented\((\d+)\)")

# Grader-only files: never in the handout. bench/ holds a bare C ping-pong and
# fuzz/ a copy of the server's recv loop: complete answers in all but name.
EXCLUDE = ("tests/grading/", "tests/mutants/", "mk/grading.mk", "docs/readme-graders.md", "bench/", "fuzz/")

# Points per lesson (the sum of the lessons' @pytest.mark.points), for
# GitHub Classroom, which gives points per command that passes.
LESSON_POINTS = {"01-socket": 10, "02-bind": 15, "03-listen": 15,
                 "04-accept": 20, "05-send-recv": 25, "06-close": 15,
                 # Beyond one client: 60 more, 160 in all.
                 "07-framing": 15, "08-fork": 15, "09-poll": 15, "10-epoll": 15}


class MarkerError(Exception):
    pass


def solution_regions(text, name="?"):
    """The solution regions of a C file: a list of (step, stubs, body_lines)."""
    regions = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if BEGIN_RE.match(lines[i]):
            stubs, body = [], []
            i += 1
            while i < len(lines) and STUB_RE.match(lines[i]):
                stubs.append(STUB_RE.match(lines[i]).group(1))
                i += 1
            while i < len(lines) and not END_RE.match(lines[i]):
                if BEGIN_RE.match(lines[i]):
                    raise MarkerError(f"{name}:{i + 1}: nested BEGIN SOLUTION")
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise MarkerError(f"{name}: BEGIN SOLUTION without END SOLUTION")
            m = STEP_RE.search(" ".join(stubs))
            if not m:
                raise MarkerError(f"{name}: a solution region needs a STUB that calls not_implemented(N)")
            regions.append((int(m.group(1)), stubs, body))
        elif END_RE.match(lines[i]):
            raise MarkerError(f"{name}:{i + 1}: END SOLUTION without BEGIN SOLUTION")
        i += 1
    return regions


def strip_solutions(text, name="?"):
    """The text with each solution region replaced by TODO(step N) and its stub."""
    solution_regions(text, name)                # validate first
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = BEGIN_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group(1)
        i += 1
        stubs = []
        while STUB_RE.match(lines[i]):
            stubs.append(STUB_RE.match(lines[i]).group(1))
            i += 1
        while not END_RE.match(lines[i]):
            i += 1
        i += 1
        step = STEP_RE.search(" ".join(stubs)).group(1)
        out.append(f"{indent}/* TODO(step {step}): write step {step} here, as the comment above says;")
        out.append(f"{indent} * then delete the stub line below. */")
        out.extend(indent + s for s in stubs)
    return "\n".join(out)


def distinctive_solution_lines(root=ROOT):
    """Lines of the solution regions that appear nowhere else in the kit's C code
    (so `if (rc == -1)` does not count, `rc = listen(listenfd, BACKLOG);` does)."""
    given, solution = set(), {}
    for c in (root / "lessons").glob("*/*.c"):
        text = c.read_text()
        for step, _, body in solution_regions(text, str(c)):
            solution.update((l.strip(), step) for l in body)
        given.update(l.strip() for l in strip_solutions(text, str(c)).split("\n"))
    for c in list((root / "src").glob("*.c")) + list((root / "include").glob("*.h")):
        given.update(l.strip() for l in c.read_text().split("\n"))
    return {l: step for l, step in solution.items()
            if l not in given and len(l) >= 12 and re.search(r"[(=]", l)}


FENCE_RE = re.compile(r"^(\s*)(```+|~~~+)")


def strip_markdown(text, solution_lines):
    """Markdown with each fenced code block that quotes a solution line replaced
    by a pointer to the TODO (the prose around it stays)."""
    out, block, fence = [], None, None
    for line in text.split("\n"):
        m = FENCE_RE.match(line)
        if block is None:
            if m:
                block, fence = [line], m.group(2)
            else:
                out.append(line)
            continue
        block.append(line)
        if m and m.group(2).startswith(fence[0]) and line.strip() == m.group(2):
            body = block[1:-1]
            if any(l.strip() in solution_lines for l in body):
                indent = FENCE_RE.match(block[0]).group(1)
                steps = sorted({solution_lines[l.strip()] for l in body if l.strip() in solution_lines})
                todo = ", ".join(f"TODO(step {n})" for n in steps)
                block = [block[0], f"{indent}/* This code is yours to write: see {todo} "
                         f"in the lesson's .c file. */", block[-1]]
            out.extend(block)
            block = None
    if block is not None:
        out.extend(block)
    return "\n".join(out)


def tracked_files(root=ROOT, exclude=EXCLUDE):
    """The kit's files: what git tracks (what a clone of the kit has), less `exclude`."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True,
                             capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(root)) for p in root.rglob("*")
                 if p.is_file() and "build" not in p.parts and ".git" not in p.parts]
    return sorted(f for f in files if not f.startswith(tuple(exclude)) and (root / f).is_file())


def classroom_json():
    """GitHub Classroom's autograding.json: one test per lesson, with its points."""
    tests = []
    for n, (lesson, points) in enumerate(sorted(LESSON_POINTS.items())):
        progs = " ".join(f"build/{lesson}/{p.stem}" for p in sorted((ROOT / "lessons" / lesson).glob("*.c")))
        tests.append({
            "name": f"lesson {lesson}",
            "setup": ("sudo apt-get update -qq && sudo apt-get install -y -qq python3-pytest "
                      "python3-pytest-timeout strace" if n == 0 else ""),
            "run": f"make -s {progs} && /usr/bin/python3 -m pytest -q lessons/{lesson}/tests",
            "input": "",
            "output": "",
            "comparison": "included",
            "timeout": 5,
            "points": points,
        })
    return {"tests": tests}


def make_handout(out, root=ROOT):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    solution_lines = distinctive_solution_lines(root)
    for rel in tracked_files(root):
        src, dst = root / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.startswith("lessons/") and rel.endswith((".c", ".h")):
            dst.write_text(strip_solutions(src.read_text(), rel))
        elif rel.endswith(".md"):
            dst.write_text(strip_markdown(src.read_text(), solution_lines))
        else:
            shutil.copy2(src, dst)
    gh = out / ".github" / "classroom"
    gh.mkdir(parents=True, exist_ok=True)
    (gh / "autograding.json").write_text(json.dumps(classroom_json(), indent=2, ensure_ascii=False) + "\n")
    return out


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print("usage: python3 tests/grading/handout.py [OUT]   (default: build/handout)",
              file=sys.stderr if argv[1] not in ("-h", "--help") else sys.stdout)
        return 0 if argv[1] in ("-h", "--help") else 2
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "build" / "handout"
    try:
        make_handout(out)
    except MarkerError as e:
        print(f"handout: {e}", file=sys.stderr)
        return 1
    n = sum(len(solution_regions((ROOT / f).read_text(), f)) for f in tracked_files()
            if f.startswith("lessons/") and f.endswith(".c"))
    print(f"handout: wrote {os.path.relpath(out)} ({n} solution regions replaced by TODO stubs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
