"""gradescope.py - the Gradescope autograder zip.

    python3 grader/gradescope.py [OUT]     (default: build/gradescope)

Writes OUT/autograder.zip: setup.sh and run_autograder at the top, the
grader's kit beside them (kit.py: the library, Makefile, harness, tests and
the handout's stubs; no reference solution, which a student's program could
otherwise read from /autograder/source). On Gradescope the zip
lands in /autograder/source; run_autograder grades /autograder/submission
and writes /autograder/results/results.json. AUTOGRADER_ROOT (default
/autograder) moves both, so a test can run it on any machine.
"""
import os
import stat
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.kit import kit_sources  # noqa: E402

SETUP_SH = """#!/usr/bin/env bash
# setup.sh - runs once, as root, when Gradescope builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends build-essential make python3 \\
    python3-pytest python3-pytest-timeout strace procps iproute2 >/dev/null
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# run_autograder - grade one submission: /autograder/submission in,
# /autograder/results/results.json out. AUTOGRADER_ROOT moves both.
# grade.py takes the lesson files only (lessons/ at the top of the upload or
# one folder down), builds them against this kit (no solutions in it) and
# runs the student's programs as a uid of their own; the results are root's.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$(cd "$(dirname "$0")" && pwd)"
SUBMISSION="${ROOT}/submission"
RESULTS="${ROOT}/results"
OUT="$(mktemp -d /tmp/socketlab-grade.XXXXXX)"
mkdir -p "$RESULTS"
chmod 755 "$RESULTS"
PYTHON=/usr/bin/python3; [ -x "$PYTHON" ] || PYTHON=python3
# GRADE_LESSONS="01-socket 02-bind": grade only these (a quick check).
LESSON_ARGS=()
for l in ${GRADE_LESSONS:-}; do LESSON_ARGS+=(--lesson "$l"); done
"$PYTHON" -I "$SOURCE/grader/grade.py" "$SUBMISSION" --out "$OUT/out" --docker no "${LESSON_ARGS[@]}" \\
    2> "$OUT/stderr"
rc=$?
cat "$OUT/stderr" >&2
if [ "$rc" = 0 ] && [ -f "$OUT/out/results.json" ]; then
    cp "$OUT/out/results.json" "$RESULTS/results.json"
else
    # Refused (exit 2: one line saying why) or a grader failure: say so to the student.
    "$PYTHON" -I -c 'import json, sys
why = sys.argv[1] if sys.argv[2] == "2" else "The grader failed; please tell the course staff."
print(json.dumps({"score": 0, "output": why.replace("grade: ", "", 1), "tests": []}))' \\
        "$(tail -n 1 "$OUT/stderr")" "$rc" > "$RESULTS/results.json"
fi
rm -rf "$OUT"
"""


def add(z, name, text, mode=0o755):
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def make_zip(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "autograder.zip"
    with zipfile.ZipFile(path, "w") as z:
        add(z, "setup.sh", SETUP_SH)
        add(z, "run_autograder", RUN_AUTOGRADER)
        files = kit_sources(ROOT)
        for rel, data in sorted(files.items()):
            mode = os.stat(ROOT / rel).st_mode & 0o777 if (ROOT / rel).exists() else 0o644
            add(z, rel, data, mode)
    return path, len(files)


def main(argv):
    path, n = make_zip(Path(argv[1]) if len(argv) > 1 else ROOT / "build" / "gradescope")
    print(f"gradescope: wrote {os.path.relpath(path)} (setup.sh, run_autograder, {n} kit files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
