"""bench_grade.py - how many submissions a minute `make grade-all` grades here.

    python3 grader/bench_grade.py [--students 20] [--jobs N] [--docker auto|yes|no] [--rounds N]

Makes a class in build/bench-grade/class/: 40% the reference solution, 30%
the untouched handout, 30% broken (a mutant from grader/mutants/, or a
lesson that does not compile), some as .zip or .tar.gz; grades it with
grade_all.py (--force, every limit on) --rounds times (ROUNDS, default 1),
and prints submissions per minute: the median and spread of the rounds,
with the machine's cores, load and CPU steal before and after, marked
noisy when the spread passes 10% or the machine was busy (bench/benchlib.py).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402
from grader import handout, mutants  # noqa: E402
from grader import kit as kitmod  # noqa: E402

PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def lesson_files(tree):
    return {str(c.relative_to(tree)): c.read_bytes() for c in Path(tree).glob("lessons/*/*.c")}


def make_class(dst, n):
    """n submissions in dst: reference, handout and broken ones, folders and archives."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    work = dst.parent / "parts"
    shutil.rmtree(work, ignore_errors=True)
    ref = lesson_files(ROOT)
    stub = lesson_files(handout.make_handout(work / "handout"))
    broken = []
    for m in (m for m in mutants.all_mutants() if not m.outside_lessons()):
        tree = work / "mutants" / m.name
        mutants.reference_copy(tree)
        m.apply(tree)
        broken.append(lesson_files(tree))
    no_build = dict(ref)
    key = "lessons/02-bind/server.c"
    no_build[key] = no_build[key].replace(b"return EXIT_OK;", b"return EXIT_OK", 1)
    broken.append(no_build)
    kinds = []
    for i in range(n):
        r = i % 10
        files, kind = ((ref, "reference") if r < 4 else (stub, "handout") if r < 7
                       else (no_build, "broken") if r == 9 else (broken[i % len(broken)], "broken"))
        sid = f"student{i + 1:02d}-{kind}"
        if i % 5 == 3:
            with zipfile.ZipFile(dst / f"{sid}.zip", "w") as z:
                for name, data in files.items():
                    z.writestr(f"socketlab-main/{name}", data)
        elif i % 5 == 4:
            with tarfile.open(dst / f"{sid}.tar.gz", "w:gz") as t:
                for name, data in files.items():
                    p = work / "tar" / sid / name
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(data)
                    t.add(p, arcname=name)
        else:
            for name, data in files.items():
                p = dst / sid / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
        kinds.append(kind)
    shutil.rmtree(work, ignore_errors=True)
    return kinds


def main(argv=None):
    ap = argparse.ArgumentParser(description="submissions per minute of grade-all on this machine")
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1), help="at once (default: twice "
                    "the cores, as grade-all)")
    ap.add_argument("--docker", choices=("auto", "yes", "no"), default=os.environ.get("GRADE_DOCKER", "auto"))
    ap.add_argument("--no-cache", action="store_true", help="grade every lesson of every student, even those "
                    "a classmate handed in byte for byte (grade_all.py --no-cache)")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS") or 1),
                    help="grade the class this many times: the median and spread (default: ROUNDS, or 1)")
    args = ap.parse_args(argv)
    base = ROOT / "build" / "bench-grade"
    kinds = make_class(base / "class", args.students)
    print(f"bench-grade: a class of {len(kinds)}: {kinds.count('reference')} reference, "
          f"{kinds.count('handout')} handout, {kinds.count('broken')} broken", file=sys.stderr)
    # The kit is built once per kit version: before the clock starts.
    sys.path.insert(0, str(ROOT / "grader"))
    import grade as grademod
    if args.docker == "auto":
        args.docker = "yes" if grademod.docker_ready() else "no"
    kitmod.ensure_kit("docker", runner=grademod.docker_runner) if args.docker == "yes" else kitmod.ensure_kit("local")
    before = benchlib.snapshot()
    rates = []
    for _ in range(args.rounds):
        started = time.monotonic()
        r = subprocess.run([PYTHON, "-I", str(ROOT / "grader" / "grade_all.py"), str(base / "class"),
                            "--out", str(base / "out"), "--jobs", str(args.jobs), "--docker", args.docker, "--force",
                            *(["--no-cache"] if args.no_cache else [])],
                           timeout=3600)
        seconds = time.monotonic() - started
        if r.returncode != 0:
            print(f"bench-grade: grade-all failed (exit {r.returncode})", file=sys.stderr)
            return 1
        rates.append(len(kinds) * 60 / seconds)
    # Whose CPU is whose is not known: in Docker the grading runs outside our
    # process tree, and locally in sandboxes whose processes are not all
    # reaped by ours (a cpuacct cgroup around a local run counted all the busy
    # CPU as the grading's, while our children's times held a quarter of it).
    mach = benchlib.machine(before, benchlib.snapshot(),
                            own_unknown="the work ran in containers" if args.docker == "yes"
                            else "the work ran in sandboxes, outside the CPU times of our children")
    rate, lo, hi, rel = benchlib.spread(rates)
    marks = benchlib.mark(rel, mach["busy"], False, args.rounds)
    spread = f", spread {lo:.1f}-{hi:.1f} over {args.rounds} rounds" if args.rounds > 1 else ", one round"
    where = "in containers" if args.docker == "yes" else "locally"
    print(f"bench-grade: {len(kinds)} submissions: {rate:.1f} submissions/minute (median{spread}; "
          f"{args.jobs} at a time, {os.cpu_count()} cores, {where}{', no cache' if args.no_cache else ''})  {marks}")
    print(f"the machine: {mach['words']}")
    print(benchlib.summary("bench-grade", [{"label": "submissions/minute", "marks": marks, "target": None,
                                            "figure": "", "spread": rel}], mach, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
