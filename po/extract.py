#!/usr/bin/env python3
"""extract.py - every message the programs print, into a .pot template.

Runs xgettext over src/*.c, src/interpose/*.c, lessons/*/*.c and tools/*.c with
the kit's keywords: _() and N_(), C_()/NC_()/NP_() with a context, and the format
argument of the error helpers (die_call, warn_call, die_msg, die_usage), which
translate it themselves so the lessons stay plain C. The lessons' ABOUT text (`#define
ABOUT "..."`, translated by parse_*_args when --help prints it) is no call
xgettext can see: it is copied into a stub file of N_() lines first.

Usage: python3 po/extract.py OUT.pot      (make po-update runs it)
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = ["_", "N_", "C_:1c,2", "NC_:1c,2", "NP_:1c,2",
            "die_call:2", "warn_call:2", "die_msg:1", "warn_msg:1", "die_usage:1"]
FLAGS = ["die_call:2:c-format", "warn_call:2:c-format",
         "die_msg:1:c-format", "warn_msg:1:c-format", "die_usage:1:c-format"]
# `#define ABOUT "..." \` and its continuation lines of string literals.
ABOUT = re.compile(r'^#\s*define\s+ABOUT\s+((?:"(?:[^"\\]|\\.)*"\s*\\?\s*\n?\s*)+)', re.M)


def sources():
    files = (sorted((ROOT / "src").glob("*.c")) + sorted((ROOT / "src").glob("*/*.c")) +
             sorted((ROOT / "lessons").glob("*/*.c")) + sorted((ROOT / "tools").glob("*.c")))
    return [f.relative_to(ROOT).as_posix() for f in files]


def about_stub(files):
    """C text with one N_() per lesson ABOUT, each after a comment naming it."""
    out = []
    for f in files:
        text = (ROOT / f).read_text(encoding="utf-8")
        for m in ABOUT.finditer(text):
            literal = re.sub(r"\\\s*\n", "\n", m.group(1)).strip()
            out.append(f"/* TRANSLATORS: --help of {f} */\nN_({literal});\n")
    return "".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = Path(sys.argv[1]).resolve()
    files = sources()
    with tempfile.TemporaryDirectory() as tmp:
        stub = Path(tmp) / "lessons-ABOUT.c"
        stub.write_text(about_stub(files), encoding="utf-8")
        # -D: the stub is found in TMP, so its references read lessons-ABOUT.c:N.
        cmd = ["xgettext", "-D", str(ROOT), "-D", tmp, "--language=C", "--from-code=UTF-8", "--add-comments=TRANSLATORS:",
               "--package-name=socketlab", "--msgid-bugs-address=socketlab",
               "--sort-by-file", "-o", str(out)]
        cmd += [f"--keyword={k}" for k in KEYWORDS] + [f"--flag={f}" for f in FLAGS]
        res = subprocess.run(cmd + files + [stub.name], cwd=ROOT, text=True,
                             capture_output=True)
    sys.stderr.write(res.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
