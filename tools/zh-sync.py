#!/usr/bin/env python3
"""zh-sync.py - keep the Chinese READMEs (*.zh.md) in step with the English ones.

Each Chinese file records which English file it translates, and that file's
git blob hash (what `git hash-object FILE` prints) at the time of the
translation, in a comment near its top, under its title:

    # 第01课：socket —— 向内核要一个端点
    <blank line>
    <!-- zh-sync: source=lessons/01-socket/README.md blob=<40 hex digits> -->
    English: [README.md](README.md)

and each English file links to its twin at its top, under its title:

    中文: [README.zh.md](README.zh.md)

(The title stays the first line: docs/lesson-pages.py reads it there.)

Usage: tools/zh-sync.py [--check]            every twin in step? exit 1 if not
       tools/zh-sync.py --status             one line per twin
       tools/zh-sync.py --diff FILE          what changed in the English FILE
                                             since it was translated
       tools/zh-sync.py --stamp FILE...      record the English FILE's current
                                             hash in its twin (after updating
                                             the translation)
       tools/zh-sync.py --copy-output FILE...
                                             copy the generated output blocks
                                             (<!-- output: NAME --> ... <!-- end
                                             output -->, make lesson-output)
                                             from the English FILE into its twin,
                                             keeping the twin's translated
                                             comment lines (# ...)
       tools/zh-sync.py --init FILE...       start the twin of a new English
                                             FILE: header, links, its text to
                                             translate (not stamped: --check
                                             fails until you --stamp it)
FILE may be the English file or its Chinese twin. --diff takes --word-diff
(changes word by word; needs git). The workflow when --check fails:

    tools/zh-sync.py --diff lessons/05-send-recv/README.md   # see the change
    $EDITOR lessons/05-send-recv/README.zh.md                # translate it
    tools/zh-sync.py --stamp lessons/05-send-recv/README.md --expect BLOB
                                            # mark it done (BLOB: what --diff
                                            # showed; refused if changed since)

--check needs no git and no history (it hashes the files as git does); --diff
needs the old English text, which git has if that version was ever committed.
Python 3 standard library only. Exit codes: 0 ok, 1 out of step, 2 usage.
"""
import argparse
import difflib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"<!-- zh-sync: source=(?P<source>\S+) blob=(?P<blob>[0-9a-f]{40}|none) -->")
TOP = 12                # the header and the links must be within the first TOP lines
ZH_LINK = "中文: [{name}]({name})"
EN_LINK = "English: [{name}]({name})"
SKIP_DIRS = {"build", "node_modules", "__pycache__"}
LESSON_DIR = re.compile(r"^\d\d-[a-z0-9-]+$")
# The student guide becomes the handout's README.md, and its twin the handout's
# README.zh.md (grader/handout.py): its links name the handout's files.
GUIDE = ("grader/student-guide.md", "grader/student-guide.zh.md",
         "README.zh.md", "README.md")


class Twin:
    """An English file and its Chinese translation (paths relative to ROOT),
    and the file names each links to at its top."""

    def __init__(self, english, chinese, zh_target=None, en_target=None):
        self.english, self.chinese = english, chinese
        self.zh_target = zh_target or Path(chinese).name
        self.en_target = en_target or Path(english).name

    def __repr__(self):
        return f"Twin({self.english!r}, {self.chinese!r})"


def twins(root=ROOT):
    """Every English file that must have a Chinese twin: the top README, each
    lesson's README, the handout's student guide; and any other *.zh.md that
    names its source in a zh-sync header (so it is kept in step too)."""
    found = [Twin("README.md", "README.zh.md")]
    lessons = root / "lessons"
    if lessons.is_dir():
        for d in sorted(lessons.iterdir()):
            if d.is_dir() and LESSON_DIR.match(d.name) and (d / "README.md").exists():
                found.append(Twin(f"lessons/{d.name}/README.md", f"lessons/{d.name}/README.zh.md"))
    if (root / GUIDE[0]).exists():
        found.append(Twin(*GUIDE))
    known = {t.chinese for t in found}
    for zh in chinese_files(root):
        rel = zh.relative_to(root).as_posix()
        header = read_header(zh) if rel not in known else None
        if header:
            found.append(Twin(header[0], rel))
    return found


def chinese_files(root):
    """Every *.zh.md under ROOT, outside build trees and .git."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".zh.md")]
    return found


def blob_hash(data):
    """The git blob hash of DATA (bytes): what `git hash-object` prints for a
    file with these bytes (no .gitattributes filters in this repository)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_hash(path):
    return blob_hash(Path(path).read_bytes())


def top_lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()[:TOP]


def read_header(path):
    """(source, blob) recorded in a Chinese file, or None."""
    for line in top_lines(path):
        m = HEADER.search(line)
        if m:
            return m.group("source"), m.group("blob")
    return None


def has_link(path, word, target):
    """Does PATH link to TARGET near its top, on a line starting with WORD?"""
    return any(line.startswith(word) and f"]({target})" in line for line in top_lines(path))


def twin_of(name, root=ROOT):
    """The Twin of FILE (English or Chinese, any path form)."""
    path = Path(name)
    known = twins(root)
    if path.is_absolute() or not any(str(name) in (t.english, t.chinese) for t in known):
        path = path if path.is_absolute() else Path.cwd() / path
        try:
            rel = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = str(name)
    else:
        rel = str(name)
    for t in known:
        if rel in (t.english, t.chinese):
            return t
    if rel.endswith(".md") and not rel.endswith(".zh.md"):
        return Twin(rel, rel[:-3] + ".zh.md")         # a new one (--init)
    raise SystemExit(usage_error(f"{name}: not an English README or a Chinese twin of one "
                                 f"(known: {', '.join(t.english for t in known)})"))


def usage_error(msg):
    print(f"zh-sync: {msg}", file=sys.stderr)
    return 2


def problems(twin, root=ROOT):
    """What is wrong with one twin: a list of messages (empty: in step)."""
    en, zh = root / twin.english, root / twin.chinese
    out = []
    if not en.exists():
        return [f"{twin.chinese}: translates {twin.english}, which does not exist"]
    if not has_link(en, "中文", twin.zh_target):
        out.append(f"{twin.english}: no link to the Chinese version at its top; add the line\n"
                   f"    {ZH_LINK.format(name=twin.zh_target)}\n"
                   f"  under its title (tools/zh-sync.py --init {twin.english} does it)")
    if not zh.exists():
        out.append(f"{twin.english} has no Chinese version {twin.chinese}: start one with\n"
                   f"    tools/zh-sync.py --init {twin.english}\n"
                   f"  translate it, then: tools/zh-sync.py --stamp {twin.english}")
        return out
    header = read_header(zh)
    if not header:
        out.append(f"{twin.chinese}: no zh-sync header in its first {TOP} lines; add, under its title,\n"
                   f"    <!-- zh-sync: source={twin.english} blob=none -->\n"
                   f"  then, once it translates today's {twin.english}: "
                   f"tools/zh-sync.py --stamp {twin.english}")
    else:
        source, blob = header
        now = file_hash(en)
        if source != twin.english:
            out.append(f"{twin.chinese}: its header says it translates {source}, "
                       f"not {twin.english}")
        elif blob == "none":
            out.append(f"{twin.chinese}: not translated yet (its header says blob=none); "
                       f"translate {twin.english}, then: tools/zh-sync.py --stamp {twin.english}")
        elif blob != now:
            out.append(f"{twin.english} changed since {twin.chinese} was translated "
                       f"(blob {blob[:12]} then, {now[:12]} now). See what changed:\n"
                       f"    tools/zh-sync.py --diff {twin.english}\n"
                       f"  (or: git diff {blob} {now}, once the new version is committed);\n"
                       f"  bring {twin.chinese} along, then: tools/zh-sync.py --stamp {twin.english}")
    if not has_link(zh, "English", twin.en_target):
        out.append(f"{twin.chinese}: no link to the English version at its top; add the line\n"
                   f"    {EN_LINK.format(name=twin.en_target)}\n  under its zh-sync header")
    return out


def check(root=ROOT, out=sys.stdout):
    found = [p for t in twins(root) for p in problems(t, root)]
    for p in found:
        print(p, file=out)
    if found:
        print(f"zh-sync: {len(found)} problem(s); the Chinese READMEs are not in step "
              f"with the English ones", file=out)
    return 1 if found else 0


def status(root=ROOT):
    for t in twins(root):
        ps = problems(t, root)
        state = "in step" if not ps else ps[0].splitlines()[0]
        print(f"{t.english:40} {t.chinese:45} {state}")
    return 0


def git(root, *args, data=None):
    return subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True)


def old_text(root, blob):
    """The bytes of BLOB from git, or None if git does not have it."""
    try:
        r = git(root, "cat-file", "blob", blob)
    except FileNotFoundError:
        return None
    return r.stdout if r.returncode == 0 else None


def diff(name, root=ROOT, word_diff=False, out=sys.stdout):
    t = twin_of(name, root)
    en, zh = root / t.english, root / t.chinese
    if not zh.exists():
        print(f"zh-sync: {t.chinese} does not exist yet: translate all of {t.english} "
              f"(tools/zh-sync.py --init {t.english})", file=sys.stderr)
        return 1
    header = read_header(zh)
    if not header or header[1] == "none":
        print(f"zh-sync: {t.chinese} records no translated version (no header, or blob=none): "
              f"compare it with all of {t.english}", file=sys.stderr)
        return 1
    blob, now = header[1], file_hash(en)
    if blob == now:
        print(f"{t.english}: unchanged since {t.chinese} was translated (blob {blob[:12]})",
              file=out)
        return 0
    old = old_text(root, blob)
    if old is None:
        print(f"zh-sync: git does not have blob {blob}, the version of {t.english} that "
              f"{t.chinese} translates: that version was never committed (stamped but not "
              f"committed?), or this clone is shallow (git fetch --unshallow). Compare by hand: "
              f"git log -p -- {t.english}", file=sys.stderr)
        return 1
    print(f"# {t.english}: changes since {t.chinese} was translated "
          f"(blob {blob[:12]} -> {now[:12]});\n# once translated: "
          f"tools/zh-sync.py --stamp {t.english} --expect {now[:12]}", file=out, flush=True)
    if word_diff:
        with tempfile.NamedTemporaryFile(suffix=".md") as f:
            f.write(old)
            f.flush()
            r = subprocess.run(["git", "diff", "--no-index", "--word-diff=plain", f.name, str(en)],
                               capture_output=True, text=True)
        print(r.stdout, end="", file=out)
        return 0
    lines = difflib.unified_diff(old.decode("utf-8").splitlines(True),
                                 en.read_text(encoding="utf-8").splitlines(True),
                                 f"a/{t.english} (translated, {blob[:12]})",
                                 f"b/{t.english} (now, {now[:12]})")
    out.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
    return 0


def set_header(zh_text, twin, blob):
    """ZH_TEXT with its zh-sync header saying BLOB (added if missing)."""
    header = f"<!-- zh-sync: source={twin.english} blob={blob} -->"
    lines = zh_text.split("\n")
    for i, line in enumerate(lines[:TOP]):
        if HEADER.search(line):
            lines[i] = HEADER.sub(header, line)
            return "\n".join(lines)
    at = 2 if lines and lines[0].startswith("# ") else 0
    block = [header]
    if not any(l.startswith("English") and f"]({twin.en_target})" in l for l in lines[:TOP]):
        block.append(EN_LINK.format(name=twin.en_target))
    block.append("")
    if at == 2 and len(lines) == 1:
        lines.append("")
    return "\n".join(lines[:at] + block + lines[at:])


def stamp(names, root=ROOT, expect=None):
    for name in names:
        t = twin_of(name, root)
        zh = root / t.chinese
        if not zh.exists():
            print(f"zh-sync: {t.chinese} does not exist: write it first "
                  f"(tools/zh-sync.py --init {t.english})", file=sys.stderr)
            return 1
        now = file_hash(root / t.english)
        if expect and not now.startswith(expect):
            print(f"zh-sync: {t.english} changed again (blob {now[:12]}, not {expect[:12]} "
                  f"as --diff showed): not stamped; see tools/zh-sync.py --diff {t.english}",
                  file=sys.stderr)
            return 1
        zh.write_text(set_header(zh.read_text(encoding="utf-8"), t, now), encoding="utf-8")
        print(f"{t.chinese}: translates {t.english} at blob {now[:12]}")
    return 0


def add_zh_link(text, twin):
    """English TEXT with the link to its Chinese twin under its title."""
    lines = text.split("\n")
    at = 2 if lines and lines[0].startswith("# ") else 0
    return "\n".join(lines[:at] + [ZH_LINK.format(name=twin.zh_target), ""] + lines[at:])


def init(names, root=ROOT):
    for name in names:
        t = twin_of(name, root)
        en, zh = root / t.english, root / t.chinese
        if not has_link(en, "中文", t.zh_target):
            en.write_text(add_zh_link(en.read_text(encoding="utf-8"), t), encoding="utf-8")
            print(f"{t.english}: linked to {t.chinese}")
        if zh.exists():
            print(f"{t.chinese}: exists, left as it is")
            continue
        text = en.read_text(encoding="utf-8")
        text = "\n".join(l for l in text.split("\n")
                         if not (l.startswith("中文") and f"]({t.zh_target})" in l))
        zh.write_text(set_header(text, t, "none"), encoding="utf-8")
        print(f"{t.chinese}: started from the English text; translate it, then "
              f"tools/zh-sync.py --stamp {t.english}")
    return 0


OUTPUT_BLOCK = re.compile(r"<!-- output: (?P<name>[\w.-]+) -->\n.*?<!-- end output -->", re.S)


# A comment of a generated block, a line ("# terminal 2: a client sent ...")
# or after a command ("$ ss -tan   # the clients"): the one part of it a
# translation translates.
COMMENT_LINE = re.compile(r"^# .*$|(?<=\S) +# .*$", re.M)


def keep_translated_comments(en_block, zh_block):
    """EN_BLOCK with ZH_BLOCK's comment lines in place of its own, matched in
    order, when both have as many; else EN_BLOCK as it is (translate anew)."""
    zh_comments = COMMENT_LINE.findall(zh_block)
    if len(zh_comments) != len(COMMENT_LINE.findall(en_block)):
        return en_block
    comments = iter(zh_comments)
    return COMMENT_LINE.sub(lambda m: next(comments), en_block)


def copy_output(names, root=ROOT):
    """Replace each generated output block of the Chinese twin by the English
    file's block of the same name: those are program output, the same in
    both (tools/lesson-output.py rewrites only the English ones), but for
    their comment lines ("# terminal 1"), which the twin translates."""
    status = 0
    for name in names:
        t = twin_of(name, root)
        en, zh = root / t.english, root / t.chinese
        if not zh.exists():
            print(f"zh-sync: {t.chinese} does not exist", file=sys.stderr)
            return 1
        blocks = {m.group("name"): m.group(0)
                  for m in OUTPUT_BLOCK.finditer(en.read_text(encoding="utf-8"))}
        text = zh.read_text(encoding="utf-8")
        missing = [m.group("name") for m in OUTPUT_BLOCK.finditer(text)
                   if m.group("name") not in blocks]
        new = OUTPUT_BLOCK.sub(lambda m: keep_translated_comments(
            blocks.get(m.group("name"), m.group(0)), m.group(0)), text)
        absent = [b for b in blocks if f"<!-- output: {b} -->" not in text]
        if new != text:
            zh.write_text(new, encoding="utf-8")
            print(f"{t.chinese}: output blocks copied from {t.english}")
        for b in missing:
            print(f"zh-sync: {t.chinese}: block '{b}' is no longer in {t.english}: remove it",
                  file=sys.stderr)
        for b in absent:
            print(f"zh-sync: {t.chinese}: {t.english} has a new block '{b}': add its text "
                  f"around it, where the English has it", file=sys.stderr)
        status = status or (1 if missing or absent else 0)
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="zh-sync.py", description=__doc__.split("\nUsage:")[0].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Usage:" + __doc__.split("\nUsage:")[1])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="every twin in step? (the default)")
    mode.add_argument("--status", action="store_true", help="one line per twin")
    mode.add_argument("--diff", metavar="FILE", help="the English FILE's changes since translated")
    mode.add_argument("--stamp", nargs="+", metavar="FILE", help="record FILE's current hash")
    mode.add_argument("--init", nargs="+", metavar="FILE", help="start the twin of FILE")
    mode.add_argument("--copy-output", nargs="+", metavar="FILE",
                      help="copy FILE's generated output blocks into its twin")
    ap.add_argument("--word-diff", action="store_true", help="with --diff: word by word (git)")
    ap.add_argument("--expect", metavar="BLOB",
                    help="with --stamp: only if the English file is still this version "
                         "(the one --diff showed), not one changed since")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if args.word_diff and not args.diff:
        ap.error("--word-diff goes with --diff")
    if args.diff:
        return diff(args.diff, root, args.word_diff)
    if args.expect and not args.stamp:
        ap.error("--expect goes with --stamp")
    if args.stamp:
        return stamp(args.stamp, root, args.expect)
    if args.init:
        return init(args.init, root)
    if args.copy_output:
        return copy_output(args.copy_output, root)
    if args.status:
        return status(root)
    return check(root)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:             # --diff | head
        sys.stderr.close()
        sys.exit(0)
