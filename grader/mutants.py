"""mutants.py - grade the buggy variants in grader/mutants/ (typical student bugs).

    python3 grader/mutants.py [NAME ...]

Each mutant is applied to a copy of the reference solution and graded on the
lesson it names; a mutant is caught when that lesson loses points. Prints one
line per mutant and exits 1 if any is not caught. A mutant that edits files
other than lessons/*/*.c is listed as n/a: grading never takes those from a
submission. See grader/mutants/README.md.
"""
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "grader" / "mutants"
sys.path.insert(0, str(ROOT))
from grader.handout import LESSON_POINTS  # noqa: E402


class Mutant:
    def __init__(self, path):
        self.path = Path(path)
        self.name = self.path.stem
        self.about = ""
        self.lesson = None
        self.edits = []             # (file, old, new)
        file = None
        for line in self.path.read_text().split("\n"):
            if line.startswith("#") and not self.about:
                self.about = line.lstrip("# ").strip()
            elif line.startswith("lesson:"):
                self.lesson = line.split(":", 1)[1].strip()
            elif line.startswith("file:"):
                file = line.split(":", 1)[1].strip()
            elif line.startswith("replace:"):
                self.edits.append([file, line.split(":", 1)[1].strip(), None])
            elif line.startswith("with:"):
                self.edits[-1][2] = line.split(":", 1)[1].strip().replace("\\n", "\n")
        if not self.lesson or not self.edits or any(f is None or n is None for f, _, n in self.edits):
            raise ValueError(f"{self.path}: needs lesson:, file: and replace:/with: pairs")

    def outside_lessons(self):
        """The files it edits that a submission cannot change: grading takes only
        lessons/NN-name/*.c from a submission (the rest is the grader's kit)."""
        return sorted({f for f, _, _ in self.edits if not re.fullmatch(r"lessons/\d\d-[\w-]+/[\w-]+\.c", f)})

    def apply(self, tree):
        """Apply the edits to the kit copy at `tree` (a whole line is dropped when `with:` is empty)."""
        for file, old, new in self.edits:
            p = Path(tree) / file
            text = p.read_text()
            if text.count(old) != 1:
                raise ValueError(f"mutant {self.name}: {old!r} occurs {text.count(old)} times in {file}")
            if new == "":
                text = "\n".join(l for l in text.split("\n") if old not in l)
            else:
                text = text.replace(old, new)
            p.write_text(text)


def all_mutants():
    return [Mutant(p) for p in sorted(MUTANTS.glob("*.mutant"))]


def reference_copy(dst):
    """The parts of the kit a submission consists of: src/, include/, lessons/*.c."""
    for d in ("src", "include"):
        shutil.copytree(ROOT / d, Path(dst) / d)
    for c in (ROOT / "lessons").glob("*/*.c"):
        (Path(dst) / c.parent.relative_to(ROOT)).mkdir(parents=True, exist_ok=True)
        shutil.copy2(c, Path(dst) / c.relative_to(ROOT))


def grade_mutant(m, workdir, timeout=20):
    """Grade mutant m on its lesson; return the results dict of grade.py."""
    tree = Path(workdir) / m.name / "tree"
    out = Path(workdir) / m.name / "grade"
    reference_copy(tree)
    m.apply(tree)
    subprocess.run([sys.executable, str(ROOT / "grader" / "grade.py"), str(tree), "--out", str(out),
                    "--lesson", m.lesson, "--docker", "no", "--timeout", str(timeout), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text())


def main(argv):
    wanted = set(argv[1:])
    missed = 0
    with tempfile.TemporaryDirectory(prefix="socketlab-mutants-") as tmp:
        Path(tmp).chmod(0o755)
        for m in all_mutants():
            if wanted and m.name not in wanted:
                continue
            if m.outside_lessons():
                print(f"{'n/a':7} {m.name:24} {m.lesson:13} edits {', '.join(m.outside_lessons())}, which the "
                      "grader takes from its own kit, never from a submission: move the bug into the lesson's .c")
                continue
            r = grade_mutant(m, tmp)
            lost = [t for t in r["tests"] if t["status"] != "passed"]
            caught = r["score"] < LESSON_POINTS[m.lesson]
            missed += not caught
            print(f"{'caught' if caught else 'MISSED':7} {m.name:24} {m.lesson:13} "
                  f"{r['score']:g}/{LESSON_POINTS[m.lesson]}  {m.about}")
            for t in lost:
                print(f"          - {t['name']}: {t['extra_data']['headline'][:150]}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
