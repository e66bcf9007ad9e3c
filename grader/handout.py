"""handout.py - make the student handout from the kit (the solution).

    python3 grader/handout.py [OUT]        (default: build/handout)

Copies every git-tracked file of the kit into OUT, except the grader's and
the maintainers' own files, and replaces each solution region of the
lessons' C files (each lesson marks only its NEW steps; the steps of earlier
lessons stay in its file, complete)

    /* BEGIN SOLUTION */
    /* STUB: not_implemented(3); */
    ...the step's code...
    /* END SOLUTION */

by a `TODO(step N)` comment that names the calls the step needs and the
variables later code reads, and the stub's code, so the handout builds, runs
("step 3 not implemented yet") and fails its tests until the student writes
each step.

The handout is a lab, not the kit: its README.md is the student's guide
(grader/student-guide.md), its Makefile is the kit's with a student's
`make help` and `make check [LESSON=NN]` (grader/check.mk, which runs
tools/check.py, from grader/check.py). Also writes
OUT/.github/classroom/autograding.json.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BEGIN_RE = re.compile(r"^(\s*)/\* BEGIN SOLUTION \*/\s*$")
END_RE = re.compile(r"^\s*/\* END SOLUTION \*/\s*$")
STUB_RE = re.compile(r"^\s*/\* STUB: (.*) \*/\s*$")
STEP_RE = re.compile(r"not_implemented\((\d+)\)")

# Grader-only files: never in the handout: grader/ (the grader, its tests, the
# mutants, the alternative solutions, its make rules). bench/ holds a bare C ping-pong,
# fuzz/ a copy of the server's recv loop, and tests/transparency/ small TCP
# programs with send and receive loops: complete answers in all but name.
# The maintainers' own targets (Docker images, fuzzing) and their README
# parts do not work in a student's tree, or are not for students.
# mk/bench-load.mk and tests/test_loadgen.py need bench/: `make bench-load`
# belongs to the full kit, and lesson 10's README says so in the handout.
EXCLUDE = ("grader/", "docs/readme-graders.md", "bench/", "fuzz/",
           "mk/hardening.mk", "mk/docker.mk", "docs/readme-docs.md", "mk/bench-load.mk",
           "tests/test_loadgen.py", "tests/transparency/", "tests/test_transparency.py",
           # the kit's own check that lessons carry over (it names the solution markers)
           "tests/test_lessons_carry_over.py")

# Commands the kit's texts name that the handout has not: each .md that
# names one gets a note under the heading or paragraph that first does.
KIT_ONLY = {
    "make bench-load": (
        "> **In the full kit only.** `make bench-load` needs the kit's load client (`bench/`), which "
        "this handout leaves out: ask your instructor for the kit to run it. Its results are shown here.",
        "> **只在完整套件里。** `make bench-load` 需要套件的负载客户端（`bench/`），讲义里没有它："
        "想运行的话，请向老师要完整的套件。它的结果就列在这里。"),
}

# What the handout has in place of the kit's files (handout path <- kit path).
HERE = Path(__file__).resolve().parent
HANDOUT_FILES = {"README.md": HERE / "student-guide.md",
                 "README.zh.md": HERE / "student-guide.zh.md",
                 "mk/check.mk": HERE / "check.mk",
                 "tools/check.py": HERE / "check.py"}
# Rules of the kit's Makefile that the handout drops: its `make help` is
# check.mk's, and bench/ is not in the handout.
DROPPED_RULES = ("help", "bench")

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


C_WORDS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else", "case", "defined"}
COMMENT_OR_STRING_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', re.S)


def calls_in(body):
    """The functions a solution body calls, in order of first use."""
    code = COMMENT_OR_STRING_RE.sub(" ", "\n".join(body))
    seen = []
    for name in re.findall(r"\b([A-Za-z_]\w*)\s*\(", code):
        if name not in C_WORDS and not name.isupper() and name not in seen:
            seen.append(name)
    return seen


def variables_set(body, rest):
    """Variables a solution body assigns that the code after it reads."""
    code = COMMENT_OR_STRING_RE.sub(" ", "\n".join(body))
    later = COMMENT_OR_STRING_RE.sub(" ", rest)
    names = []
    for name in re.findall(r"(?:^|[;{(])\s*([A-Za-z_]\w*)\s*=[^=]", code, re.M):
        first = re.search(rf"\b{name}\b(\s*=[^=])?", later)
        if name not in names and first and not first.group(1):     # read before any new value
            names.append(name)
    return names


def todo_comment(indent, step, body, rest, stubs):
    """The comment that takes a solution's place: where to write, and (unless
    the stub's own comment lines say it) which calls the step needs."""
    hinted = any(s.lstrip().startswith(("//", "/*")) for s in stubs)
    calls = ", ".join(f"{c}()" for c in calls_in(body))
    sets = ", ".join(variables_set(body, rest))
    lines = [f"/* TODO(step {step}): write step {step} here; then delete the not_implemented({step}) line",
             f" * (it stops the program with \"step {step} not implemented yet\")."]
    if calls and not hinted:
        lines.append(f" * The step needs: {calls}.")
    if sets:
        lines.append(f" * The code after it reads: {sets}.")
    lines[-1] += " */"
    return [indent + line for line in lines]


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
        stubs, body = [], []
        while STUB_RE.match(lines[i]):
            stubs.append(STUB_RE.match(lines[i]).group(1))
            i += 1
        while not END_RE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        step = STEP_RE.search(" ".join(stubs)).group(1)
        out.extend(todo_comment(indent, step, body, "\n".join(lines[i:]), stubs))
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
TRAILING_COMMENT_RE = re.compile(r"\s*(/\*.*?\*/|//.*)\s*$")


def code_key(line):
    """A line of C as the holes are compared: its trailing comment and every
    space dropped (`n = recv(fd, b, 1, 0);  /* why */` -> `n=recv(fd,b,1,0);`)."""
    return "".join(TRAILING_COMMENT_RE.sub("", line.strip()).split())


def significant(key):
    """Whether a hole's line answers something: a call or an assignment, not `}` or `break;`."""
    return len(key) >= 8 and bool(re.search(r"[(=]", key)) and not key.startswith(("/*", "*", "//"))


def lesson_of_path(rel):
    m = re.match(r"lessons/(\d\d)-", rel)
    return int(m.group(1)) if m else None


def lesson_secrets(root=ROOT):
    """{lesson number: ({code key: step} of its holes, {code keys its handout
    files give})}. The seed's own code (tests/seed/, shipped: the tutorial
    the kit grows from) and the library's (src/, include/, tools/) count as
    given everywhere."""
    library = [f for d in ("src", "include", "tools") for f in sorted((root / d).rglob("*.[ch]"))]
    seed = {code_key(l) for f in sorted((root / "tests" / "seed").glob("*")) + library if f.is_file()
            for l in f.read_text(errors="replace").split("\n")}
    secrets = {}
    for ldir in sorted((root / "lessons").glob("[0-9][0-9]-*")):
        given, holes = set(seed), {}
        for c in sorted(ldir.glob("*.c")):
            text = c.read_text()
            for step, _, body in solution_regions(text, str(c)):
                holes.update((code_key(l), step) for l in body)
            given.update(code_key(l) for l in strip_solutions(text, str(c)).split("\n"))
        secrets[int(ldir.name[:2])] = ({k: st for k, st in holes.items() if significant(k) and k not in given},
                                       given)
    return secrets


def secrets_for(rel, secrets):
    """The hole lines a markdown file must not quote: a lesson's README, those
    of its own lesson and of the lessons after it, less what its own lesson's
    files give; any other text, those of every lesson."""
    n = lesson_of_path(rel)
    given = secrets[n][1] if n in secrets else set()
    out = {}
    for lesson, (holes, _) in secrets.items():
        if n is None or lesson >= n:
            out.update((k, st) for k, st in holes.items() if k not in given)
    return out


def strip_markdown(text, solution_lines):
    """Markdown with each fenced code block that quotes a hole's line (`code_key`
    equal) replaced by a pointer to the TODO (the prose around it stays)."""
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
            steps = sorted({solution_lines[code_key(l)] for l in body if code_key(l) in solution_lines})
            if steps:
                indent = FENCE_RE.match(block[0]).group(1)
                todo = ", ".join(f"TODO(step {n})" for n in steps)
                block = [block[0], f"{indent}/* This code is yours to write: see {todo} "
                         f"in the lesson's .c file. */", block[-1]]
            out.extend(block)
            block = None
    if block is not None:
        out.extend(block)
    return "\n".join(out)


def note_kit_only(text, zh):
    """A note under the first heading or paragraph naming a KIT_ONLY command."""
    lines = text.split("\n")
    in_code = False
    for command, notes in KIT_ONLY.items():
        for i, line in enumerate(lines):
            if FENCE_RE.match(line):
                in_code = not in_code
            if in_code or command not in line:
                continue
            end = i + 1 if line.startswith("#") else next(
                (j for j in range(i, len(lines)) if not lines[j].strip()), len(lines))
            lines[end:end] = ["", notes[1] if zh else notes[0]]
            break
        in_code = False
    return "\n".join(lines)


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


STUDENT_MAKEFILE_HEAD = """\
# Makefile - build and check your socketlab lessons.
#
#   make                   build every lesson into build/<lesson>/
#   make check             check the lessons in order; stops at the first one not done
#   make check LESSON=03   build, then check lesson 03 only
#   make help              every target that works here
#
# V=1 shows the full commands.
"""


def student_makefile(text):
    """The kit's Makefile for the handout: the student's header comment, and
    without the rules the handout has no use for (DROPPED_RULES)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1                                  # the kit's header comment
    out, skipping = [], False
    for line in lines[i:]:
        target = re.match(r"^([\w.-]+)\s*:(?!=)", line)
        if target:
            skipping = target.group(1) in DROPPED_RULES
        elif skipping and not line.startswith("\t"):
            skipping = False
        if not skipping:
            out.append(line)
    return STUDENT_MAKEFILE_HEAD + "\n".join(out)


IF_RE = re.compile(r"^<!-- if (\S+) -->\n(.*?)^<!-- end if -->\n", re.S | re.M)


def only_what_exists(text, out):
    """The guide without the parts about files the handout lacks:
    `<!-- if tools/trace --> ... <!-- end if -->` stays only if OUT has tools/trace."""
    return IF_RE.sub(lambda m: m.group(2) if (out / m.group(1)).exists() else "", text)


def make_handout(out, root=ROOT):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    secrets = lesson_secrets(root)
    for rel in tracked_files(root):
        src, dst = root / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel in HANDOUT_FILES:
            continue                            # written below
        if rel == "Makefile":
            dst.write_text(student_makefile(src.read_text()))
        elif rel.startswith("lessons/") and rel.endswith((".c", ".h")):
            dst.write_text(strip_solutions(src.read_text(), rel))
        elif rel.endswith(".md"):
            dst.write_text(note_kit_only(strip_markdown(src.read_text(), secrets_for(rel, secrets)),
                                         rel.endswith(".zh.md") or "/zh/" in rel))
        else:
            shutil.copy2(src, dst)
    for rel, src in HANDOUT_FILES.items():
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".md"):
            dst.write_text(only_what_exists(src.read_text(), out))
        else:
            shutil.copy2(src, dst)
    gh = out / ".github" / "classroom"
    gh.mkdir(parents=True, exist_ok=True)
    (gh / "autograding.json").write_text(json.dumps(classroom_json(), indent=2, ensure_ascii=False) + "\n")
    return out


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print("usage: python3 grader/handout.py [OUT]   (default: build/handout)",
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
