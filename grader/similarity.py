"""similarity.py - which students of a class share code: similarity.md.

    python3 grader/similarity.py SUBMISSIONS [--out FILE] [--threshold PCT]

Each student's lesson files (lessons/*/*.c), less every line the handout
gave them (the stubs, the earlier lessons' steps, the comments), are put
end to end, and Debian's similarity-tester (`sim_c`, package
similarity-tester) compares every student with every other: it reads C
tokens, so renamed variables and moved comments do not hide a copy. Pairs
where one student's own code is at least PCT % (default 50) the other's are
written to FILE (default build/grade-all/similarity.md), most similar
first, each with the lines they share. A lead to look into, never a verdict:
two short correct answers to the same hole can look alike.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader import handout  # noqa: E402
from grader.submission import Refused, open_submission  # noqa: E402

SIM = "sim_c"
THRESHOLD = 50          # percent of one student's own code found in the other's
MIN_RUN = 16            # tokens: sim_c's shortest shared run worth reporting
SHOWN_LINES = 30        # of each shared run in the report
PERCENT_RE = re.compile(r"^(\S+) consists for (\d+) % of (\S+) material")
RUN_RE = re.compile(r"^(\S+): line (\d+)-(\d+)\s*\|(\S+): line (\d+)-(\d+)\s*\[(\d+)\]")


def handout_lines():
    """{lessons/NN/prog.c: set of stripped lines} the handout gives each file."""
    given = {}
    for c in sorted((ROOT / "lessons").glob("*/*.c")):
        rel = str(c.relative_to(ROOT))
        given[rel] = {l.strip() for l in handout.strip_solutions(c.read_text(), rel).split("\n")}
    return given


def own_code(tree, given):
    """A student's own lines, all lesson files end to end: (text, [(file, line)])
    with a blank line for each line the handout gave (comments are no tokens)."""
    text, where = [], []
    for rel in sorted(given):
        f = Path(tree) / rel
        if not f.is_file():
            continue
        lines = f.read_text(errors="replace").split("\n")
        text.append(f"/* == {rel} == */")
        where.append((rel, 0))
        for n, line in enumerate(lines, 1):
            text.append("" if line.strip() in given[rel] else line)
            where.append((rel, n))
    return "\n".join(text) + "\n", where


def run_sim(files, *opts):
    r = subprocess.run([SIM, *opts, *map(str, files)], capture_output=True, text=True, errors="replace",
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{SIM} failed: {r.stderr.strip()[-500:]}")
    return r.stdout


def pairs_above(files, threshold):
    """{(a, b): percent} for each ordered pair where a is at least `threshold` % b's."""
    out = {}
    for line in run_sim(files, "-a", "-e", "-s", "-p", f"-r{MIN_RUN}", f"-t{threshold}").split("\n"):
        m = PERCENT_RE.match(line)
        if m:
            out[(m.group(1), m.group(3))] = int(m.group(2))
    return out


def shared_runs(a, b):
    """[(a_from, a_to, b_from, b_to, tokens)] of the runs a and b share (sim's line numbers)."""
    runs = []
    for line in run_sim([a, b], "-s", "-n", f"-r{MIN_RUN}").split("\n"):
        m = RUN_RE.match(line)
        if m and m.group(1) == str(a):
            runs.append(tuple(int(m.group(i)) for i in (2, 3, 5, 6, 7)))
    return sorted(runs, key=lambda r: -r[4])


def report(students, pairs, runs, threshold, skipped):
    lines = ["# Similarity between students' own code", "",
             f"Each student's lesson files less the handout's own lines, compared by `{SIM}` "
             f"(similarity-tester) on C tokens: renamed variables and moved comments do not hide a "
             f"copy. Listed: pairs where at least {threshold} % of one student's own code is found in the "
             f"other's, most similar first. A lead to look into, not a verdict: short correct answers "
             f"to the same hole can look alike.", "",
             f"{len(students)} students compared; {len(pairs)} pair{'s' if len(pairs) != 1 else ''} at or "
             f"above {threshold} %.", ""]
    if skipped:
        lines += [f"Not compared (no lesson files could be read): {', '.join(sorted(skipped))}.", ""]
    if pairs:
        lines += ["| students | shared | own code of each (lines) |", "|---|---|---|"]
        for (a, b), pct in pairs:
            lines.append(f"| {a} and {b} | {pct} % | {students[a]['own']}, {students[b]['own']} |")
        lines.append("")
    for (a, b), pct in pairs:
        lines += [f"## {a} and {b}: {pct} %", ""]
        for a0, a1, b0, b1, tokens in runs[(a, b)]:
            wa, wb = students[a]["where"], students[b]["where"]
            fa, la = wa[a0 - 1] if a0 - 1 < len(wa) else ("?", a0)
            fb, lb = wb[b0 - 1] if b0 - 1 < len(wb) else ("?", b0)
            _, la_end = wa[min(a1, len(wa)) - 1]
            _, lb_end = wb[min(b1, len(wb)) - 1]
            lines += [f"{a} `{fa}` lines {la}-{la_end}, {b} `{fb}` lines {lb}-{lb_end} ({tokens} tokens):", "",
                      "```c"]
            text = students[a]["text"][a0 - 1:a1]
            shown = [l for l in text if l.strip() and not l.startswith("/* == ")][:SHOWN_LINES]
            lines += shown + (["/* ... */"] if len([l for l in text if l.strip()]) > len(shown) else [])
            lines += ["```", ""]
    return "\n".join(lines)


def similarity(subs, out_file, threshold=THRESHOLD):
    """Compare the class [(student, path)]; write out_file; return the pairs listed."""
    if shutil.which(SIM) is None:
        Path(out_file).write_text("# Similarity between students' own code\n\nNot computed: "
                                  f"`{SIM}` is missing (apt-get install similarity-tester).\n")
        return None
    given = handout_lines()
    students, skipped = {}, []
    with tempfile.TemporaryDirectory(prefix="socketlab-sim-") as tmp:
        tmp = Path(tmp)
        for student, path in subs:
            try:
                tree = open_submission(path, tmp / "open" / student)
            except Refused:
                skipped.append(student)
                continue
            text, where = own_code(tree, given)
            f = tmp / "own" / f"{student}.c"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)
            students[student] = {"file": f, "where": where, "text": text.split("\n"),
                                 "own": sum(1 for l in text.split("\n") if l.strip() and not l.startswith("/* == "))}
        by_file = {str(s["file"]): name for name, s in students.items()}
        found = pairs_above([s["file"] for s in students.values()], threshold) if len(students) > 1 else {}
        best = {}
        for (fa, fb), pct in found.items():
            a, b = by_file.get(fa), by_file.get(fb)
            if a and b and a != b:
                key = tuple(sorted((a, b)))
                best[key] = max(best.get(key, 0), pct)
        pairs = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        runs = {(a, b): shared_runs(students[a]["file"], students[b]["file"]) for (a, b), _ in pairs}
        Path(out_file).write_text(report(students, pairs, runs, threshold, skipped))
    return pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description="which students of a class share code (similarity.md)")
    ap.add_argument("submissions", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "grade-all" / "similarity.md")
    ap.add_argument("--threshold", type=int, default=THRESHOLD, help=f"percent (default {THRESHOLD})")
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"similarity: {args.submissions}: not a folder of submissions", file=sys.stderr)
        return 2
    from grader.grade_all import submissions
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pairs = similarity(submissions(args.submissions), args.out, args.threshold)
    print(f"similarity: {'no ' + SIM if pairs is None else len(pairs)} pairs; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
