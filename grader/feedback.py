"""feedback.py - one student's feedback.md, from the grader's results.json.

    python3 grader/feedback.py OUT_DIR [STUDENT]     (OUT_DIR: where grade.py wrote)

What the terminal showed (the score table), then each failed test with what
it expected and what was seen, then the tests the grader could not run
(counted nowhere). grade_all.py writes it beside each student's JSON; an
instructor can send it to the student as it is.
"""
import json
import sys
from pathlib import Path

DETAIL_LINES = 40       # of a failed test's report, when it has no verdict lines


def fmt(x):
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def failed_section(t):
    """A failed test: its headline, its verdict (expected, happened), and the
    start of the grader's report in a folded block."""
    lesson, name = t["name"].split(": ", 1) if ": " in t["name"] else ("", t["name"])
    lines = [f"### {lesson}: `{name}` (-{fmt(t['max_score'])})", ""]
    extra = t.get("extra_data", {})
    if extra.get("headline"):
        lines += [extra["headline"], ""]
    verdict = extra.get("verdict") or []
    if verdict:
        lines += ["```text", *verdict, "```", ""]
    report = [l for l in t.get("output", "").split("\n")]
    if report and any(l.strip() for l in report):
        shown = report[:DETAIL_LINES]
        more = len(report) - len(shown)
        lines += ["<details><summary>the grader's report</summary>", "", "```text", *shown,
                  *([f"[... {more} more lines in results.json]"] if more > 0 else []), "```", "",
                  "</details>", ""]
    return lines


def feedback_md(student, grade, results):
    """The text of feedback.md. `grade` is grade.json's dict, `results`
    results.json's (or None when the submission was refused or not graded)."""
    status = grade.get("status", "?")
    lines = [f"# socketlab: feedback for {student}", ""]
    if results is None:
        lines += [f"Not graded: {status}.", "",
                  "Nothing was run. Hand in a folder or archive holding `lessons/` (each lesson's "
                  "`server.c`, and `client.c` from lesson 04) and ask for it to be graded again.", ""]
        return "\n".join(lines)
    tests = results.get("tests", [])
    graded_max = sum(t["max_score"] for t in tests)
    lines += [f"**Score: {fmt(results.get('score', 0))} of {fmt(graded_max)}** (status: {status})", "",
              "```text", results.get("output", "").rstrip(), "```", ""]
    failed = [t for t in tests if t["status"] != "passed"]
    if failed:
        lines += ["## What to fix", "",
                  "Each failed test: what it expected and what your program did. Run "
                  "`make check LESSON=NN` in your handout to see the same verdicts.", ""]
        for t in failed:
            lines += failed_section(t)
    else:
        lines += ["Every test passed.", ""]
    not_run = [t for t in tests if t.get("extra_data", {}).get("not_run")]
    if not_run:
        lines += ["## Not run (not counted)", "",
                  "The grader's machine could not run these tests. They count neither in the score "
                  "nor in the maximum: this is the grader's problem, not yours.", ""]
        lines += [f"- {t['name']}: {t['extra_data']['not_run']}" for t in not_run] + [""]
    return "\n".join(lines)


def write_feedback(out_dir, student):
    """Write out_dir/feedback.md from out_dir/grade.json and results.json."""
    out_dir = Path(out_dir)
    grade = json.loads((out_dir / "grade.json").read_text()) if (out_dir / "grade.json").exists() else {}
    results_file = out_dir / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() and not \
        grade.get("status", "").startswith(("refused", "grader error")) else None
    (out_dir / "feedback.md").write_text(feedback_md(student, grade, results))
    return out_dir / "feedback.md"


def main(argv):
    if len(argv) not in (2, 3) or argv[1].startswith("-"):
        print("usage: python3 grader/feedback.py OUT_DIR [STUDENT]", file=sys.stderr)
        return 2
    out = Path(argv[1])
    print(write_feedback(out, argv[2] if len(argv) == 3 else out.name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
