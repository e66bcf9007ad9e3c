"""grade_all.py - grade a whole class into a gradebook.

    python3 grader/grade_all.py SUBMISSIONS [--out build/grade-all] [--jobs N] [--force]
                                       [--docker auto|yes|no] [--timeout SEC] [--limit SEC]

SUBMISSIONS holds one folder or archive (.zip, .tar.gz, .tgz, .tar) per
student; its name (less the archive's extension) is the student's id. Each
is graded by grade.py (its own sandbox and uid), --jobs at a time (default:
twice the number of cores: a grading mostly waits), into OUT/<student>/ (results.json, junit.xml,
grade.json, logs). A crashing or hanging submission costs its own points
only: grade.py's limits, then --limit per submission here.

Writes OUT/gradebook.csv: student, points per lesson, total, the maximum
graded (160 less the tests the grader could not run), status ("ok", "build
failed: 02-bind", "timed out", "refused: ...", "grader error", "grader
problem: 1 test not run here (...)"); per student OUT/<student>/feedback.md
(feedback.py: the score table, each failed test with what was expected and
seen); and OUT/similarity.md (similarity.py: pairs of students whose own
code, less the handout's lines, is alike, with the lines they share).
Students already graded are skipped unless --force. A lesson whose files a
classmate handed in byte for byte is graded once (lessoncache.py; the
cache, OUT/.cache, is emptied by --force; --no-cache grades every one). Shows a progress bar
on a terminal (a line per student otherwise) and ends with a summary: how
many, the mean, and per lesson the mean, how many got it all, and the test
the class failed most.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader import kit as kitmod  # noqa: E402
from grader.feedback import write_feedback  # noqa: E402
from grader.similarity import THRESHOLD, similarity  # noqa: E402
from grader.submission import ARCHIVES  # noqa: E402

GRADE = ROOT / "grader" / "grade.py"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def student_id(path):
    name = path.name
    for ext in sorted(ARCHIVES, key=len, reverse=True):
        if name.lower().endswith(ext):
            return name[:-len(ext)]
    return name


def submissions(folder):
    """[(student, path)] of the class folder, by student id; hidden entries skipped."""
    out = {}
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith("."):
            continue
        sid = student_id(p)
        if sid in out:
            sid = p.name            # alice/ and alice.zip: keep both, named apart
        out[sid] = p
    return sorted(out.items())


class Progress:
    """A bar on a terminal; a line per finished student otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self.counts = {}
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def finished(self, student, status, total):
        with self.lock:
            self.done += 1
            key = status.split(":")[0]
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.tty:
                width = 30
                fill = width * self.done // max(self.total, 1)
                counts = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
                self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total}  {counts}  "
                                  f"{time.monotonic() - self.started:.0f}s\033[K")
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(f"grade-all: {self.done}/{self.total} {student}: {status}"
                                  f"{f' ({total:g})' if total is not None else ''}\n")
            self.stream.flush()


def grade_one(student, path, out, args):
    """Grade one student into out/<student>; return its grade.json dict."""
    dest = out / student
    done = dest / "grade.json"
    if done.exists() and not args.force:
        g = json.loads(done.read_text())
        if g.get("status") != "grader error":
            g["skipped"] = True
            if not (dest / "feedback.md").exists():
                write_feedback(dest, student)
            return g
    dest.mkdir(parents=True, exist_ok=True)
    cache = ["--cache", str(out / ".cache")] if args.cache else []
    argv = [PYTHON, "-I", str(GRADE), str(path), "--out", str(dest), "--quiet", "--docker", args.docker, *cache,
            "--timeout", str(args.timeout), "--limit", str(args.limit), *sum((["--lesson", l] for l in args.lesson), [])]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=args.limit + 360)
        rc, err = r.returncode, r.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, err = -1, ""
    if rc == 0 and done.exists():
        write_feedback(dest, student)
        return json.loads(done.read_text())
    if rc == 2:
        line = err.split("\n")[-1] if err else "refused"
        status = "refused: " + line.split("refused: ", 1)[-1] if "refused: " in line else line
    elif rc == -1:
        status = "timed out"
    else:
        status = "grader error"
        (dest / "grader-error.log").write_text(err[-5000:] + "\n")
    g = {"status": status, "score": 0, "lessons": {}, "failed": []}
    done.write_text(json.dumps(g, indent=1) + "\n")
    write_feedback(dest, student)
    return g


def write_gradebook(path, rows, lessons, points):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *lessons, "total", "max", "status"])
        for student, g in rows:
            graded_max = sum((g.get("graded_max") or g.get("max") or {}).values()) or sum(
                points.get(l, 0) for l in lessons)
            w.writerow([student, *(fmt(g["lessons"].get(l, 0)) for l in lessons), fmt(g["score"]),
                        fmt(graded_max), g["status"]])


def fmt(x):
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def summary(rows, lessons, points):
    """The class in a few lines: count, mean, and per lesson the mean, full marks, the test most failed."""
    graded = [g for _, g in rows if not g["status"].startswith(("refused", "grader error"))]
    lines = [f"graded {len(graded)} of {len(rows)} submissions"
             + (f"; mean {sum(g['score'] for g in graded) / len(graded):.1f}/{sum(points.values())}" if graded else "")]
    statuses = {}
    for _, g in rows:
        statuses[g["status"].split(":")[0]] = statuses.get(g["status"].split(":")[0], 0) + 1
    lines.append("status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    problems = {}
    for student, g in rows:
        for t in g.get("not_run", []):
            problems.setdefault(f"{t['test']}: {t['why']}", []).append(student)
    for what, who in sorted(problems.items()):
        lines.append(f"grader problem: {what} - not run for {len(who)} student{'s' if len(who) > 1 else ''}, "
                     "left out of their score and maximum; fix the grader's machine and grade again (FORCE=1)")
    if not graded:
        return lines
    lines.append(f"{'lesson':<16} {'mean':>7} {'full':>7}   most failed test (students)")
    for l in lessons:
        scores = [g["lessons"].get(l, 0) for g in graded]
        full = sum(1 for s in scores if s >= points[l])
        failed = {}
        for g in graded:
            for name in g.get("failed", []):
                if name.startswith(l + ": "):
                    failed[name.split(": ", 1)[1]] = failed.get(name.split(": ", 1)[1], 0) + 1
        worst = max(failed.items(), key=lambda kv: (kv[1], kv[0])) if failed else None
        lines.append(f"{l:<16} {sum(scores) / len(scores):>7.1f} {full:>3}/{len(graded):<3}   "
                     + (f"{worst[0]} ({worst[1]})" if worst else "-"))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description="grade every submission in a folder into a gradebook")
    ap.add_argument("submissions", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "grade-all")
    # Twice the cores: a grading spends most of its time waiting (on sockets,
    # on the programs' deadlines), not computing.
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1),
                    help="submissions graded at once (default: twice the cores)")
    ap.add_argument("--force", action="store_true", help="grade again what is already graded")
    ap.add_argument("--docker", choices=("auto", "yes", "no"), default=os.environ.get("GRADE_DOCKER", "auto"))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("GRADE_TIMEOUT", "30")))
    ap.add_argument("--limit", type=int, default=900, help="seconds per submission (default 900)")
    ap.add_argument("--lesson", action="append", default=[], help="grade only this lesson (repeatable)")
    ap.add_argument("--no-cache", dest="cache", action="store_false",
                    help="grade every lesson of every student, even one whose files a classmate handed in "
                         "byte for byte (by default such a lesson is graded once: OUT/.cache)")
    ap.add_argument("--similar", type=int, default=THRESHOLD, metavar="PCT",
                    help=f"list pairs of students sharing at least PCT %% of their own code (default {THRESHOLD})")
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"grade-all: {args.submissions}: not a folder of submissions", file=sys.stderr)
        return 2
    subs = submissions(args.submissions)
    if not subs:
        print(f"grade-all: {args.submissions} is empty: put one folder or archive per student in it",
              file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("grade-all: --jobs must be at least 1", file=sys.stderr)
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.force:
        shutil.rmtree(out / ".cache", ignore_errors=True)      # graded again: every lesson run again
    (out / ".cache").mkdir(mode=0o700, exist_ok=True)
    # The kit once, before the students (each grade.py would wait for it anyway).
    if args.docker == "auto":
        sys.path.insert(0, str(GRADE.parent))
        import grade as grademod
        args.docker = "yes" if grademod.docker_ready() else "no"
    try:
        if args.docker == "no":
            kitmod.ensure_kit("local")
    except kitmod.KitError as e:
        print(f"grade-all: {e}", file=sys.stderr)
        return 1
    points = _points()
    if args.lesson:
        points = {l: p for l, p in points.items() if l in args.lesson}
    lessons = list(points)
    progress = Progress(len(subs))
    print(f"grade-all: {len(subs)} submissions, {args.jobs} at a time, "
          f"{'in Docker' if args.docker == 'yes' else 'locally'}", file=sys.stderr)
    started = time.monotonic()

    def job(item):
        student, path = item
        g = grade_one(student, path, out, args)
        progress.finished(student, g["status"] + (" (already graded)" if g.get("skipped") else ""),
                          g.get("score"))
        return student, g

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(job, subs))
    write_gradebook(out / "gradebook.csv", rows, lessons, points)
    for line in summary(rows, lessons, points):
        print(line)
    pairs = similarity(subs, out / "similarity.md", args.similar)
    if pairs is None:
        print("similarity: not computed, sim_c is missing (apt-get install similarity-tester)")
    else:
        print(f"similarity: {len(pairs)} pair{'s' if len(pairs) != 1 else ''} of students at or above "
              f"{args.similar} % shared code")
    print(f"wrote {out / 'gradebook.csv'}, {out / 'similarity.md'} and <student>/feedback.md "
          f"({time.monotonic() - started:.0f}s)")
    return 0


def _points():
    from grader.handout import LESSON_POINTS
    return {l: LESSON_POINTS.get(l, 0) for l in kitmod.lessons(ROOT)}


if __name__ == "__main__":
    sys.exit(main())
