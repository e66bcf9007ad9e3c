"""gradescope.py - the Gradescope autograder zip.

    python3 tests/grading/gradescope.py [OUT]     (default: build/gradescope)

Writes OUT/autograder.zip: setup.sh and run_autograder at the top, the kit
(git-tracked files, the grader included) beside them. On Gradescope the zip
lands in /autograder/source; run_autograder grades /autograder/submission
and writes /autograder/results/results.json. AUTOGRADER_ROOT (default
/autograder) moves both, so a test can run it on any machine.
"""
import os
import stat
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from grading.handout import tracked_files  # noqa: E402

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
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$(cd "$(dirname "$0")" && pwd)"
SUBMISSION="${ROOT}/submission"
RESULTS="${ROOT}/results"
OUT="${GRADE_OUT:-$(mktemp -d /tmp/socketlab-grade.XXXXXX)}"
chmod 755 "$OUT"
mkdir -p "$RESULTS"

# The student may upload the tree itself or a folder holding it.
TREE="$(find "$SUBMISSION" -maxdepth 3 -type d -name lessons -printf '%h\\n' 2>/dev/null | sort | head -n 1)"
if [ -z "$TREE" ]; then
    printf '{"score": 0, "output": "No lessons/ directory in the submission: upload the whole socketlab tree (the handout with your code).", "tests": []}\\n' \\
        > "$RESULTS/results.json"
    exit 0
fi
PYTHON=/usr/bin/python3; [ -x "$PYTHON" ] || PYTHON=python3
# GRADE_LESSONS="01-socket 02-bind": grade only these (a quick check).
LESSON_ARGS=()
for l in ${GRADE_LESSONS:-}; do LESSON_ARGS+=(--lesson "$l"); done
"$PYTHON" "$SOURCE/tests/grading/grade.py" "$TREE" --out "$OUT" --docker no "${LESSON_ARGS[@]}"
if [ -f "$OUT/results.json" ]; then
    cp "$OUT/results.json" "$RESULTS/results.json"
else
    printf '{"score": 0, "output": "The grader failed; please tell the course staff.", "tests": []}\\n' \\
        > "$RESULTS/results.json"
fi
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
        files = tracked_files(ROOT, exclude=("bench/",))
        for rel in files:
            mode = os.stat(ROOT / rel).st_mode & 0o777
            add(z, rel, (ROOT / rel).read_bytes(), mode)
    return path, len(files)


def main(argv):
    path, n = make_zip(Path(argv[1]) if len(argv) > 1 else ROOT / "build" / "gradescope")
    print(f"gradescope: wrote {os.path.relpath(path)} (setup.sh, run_autograder, {n} kit files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
