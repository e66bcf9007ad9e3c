"""Each lesson is the one before it plus its new step (style.md: "one codebase,
staged"), so `diff lessons/03-listen/server.c lessons/04-accept/server.c`
shows what lesson 04 adds and nothing else.

For each pair of consecutive lessons and each program both have (server.c,
client.c), every line that differs must be one of:

- the later lesson's new step: a solution region (`/* BEGIN SOLUTION */` to
  `/* END SOLUTION */`, its `/* STUB: */` lines included) or the region's
  lead, the comment (and function head) right above it (and the function's
  closing brace right after it). In the earlier file the markers are left
  out: its step is plain code in the later lesson;
- a comment in the same diff hunk as the new step: the narration around it
  ("step 5 is lesson 05" gives way to step 5);
- the file's header comment, the ABOUT text (--help), an #include line;
- a change the later lesson's README names under "## What changed since
  lesson NN" (its twin: "## 与第NN课相比改了什么"): each `code fragment`
  in that section's list explains every diff hunk (as `diff -u` shows
  them) that has a changed line containing it.
  A fragment that no changed line contains is stale, and fails too.

A failure names each line that is none of these, lesson by lesson.
"""
import difflib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]-*") if p.is_dir())
PROGRAMS = ("server.c", "client.c")

MARKER_RE = re.compile(r"^\s*/\* (?:BEGIN SOLUTION|END SOLUTION|STUB: .*) \*/\s*$")
BEGIN_RE = re.compile(r"^\s*/\* BEGIN SOLUTION \*/\s*$")
END_RE = re.compile(r"^\s*/\* END SOLUTION \*/\s*$")
# A function's head: `static int talk(int clientfd)` at column 0, or its `{`.
HEAD_RE = re.compile(r"^(?:[A-Za-z_][\w \t*]*\(.*\)|\{)\s*$")
SECTION_RE = {"en": re.compile(r"^## What changed since lesson (\d\d)\s*$", re.M),
              "zh": re.compile(r"^## 与第 ?(\d\d) ?课相比改了什么\s*$", re.M)}
FRAGMENT_RE = re.compile(r"`([^`\n]+)`")
# Lines of context around a change, as in `diff -u`: changes fewer than
# 2 * CONTEXT + 1 equal lines apart make one hunk.
CONTEXT = 3
# A fragment names one change: `rc` would match half the file.
MIN_FRAGMENT = 8


class Line:
    def __init__(self, no, text, tags=()):
        self.no, self.text, self.tags = no, text, set(tags)


def is_comment(text):
    return text.strip().startswith(("/*", "*"))


def tagged_lines(text):
    """The lines of a C file, each tagged with what it is part of: header,
    about, include, region, lead."""
    lines = [Line(i + 1, t) for i, t in enumerate(text.split("\n"))]
    if lines and lines[0].text.startswith("/*"):
        for line in lines:
            line.tags.add("header")
            if "*/" in line.text:
                break
    about = False
    for line in lines:
        about = about or line.text.startswith("#define ABOUT")
        if about:
            line.tags.add("about")
            about = line.text.rstrip().endswith("\\")
        if line.text.startswith("#include"):
            line.tags.add("include")
    inside = False
    for i, line in enumerate(lines):
        if BEGIN_RE.match(line.text):
            inside = True
            j = i - 1
            while j >= 0 and lines[j].text.strip() and (is_comment(lines[j].text) or HEAD_RE.match(lines[j].text)):
                lines[j].tags.add("lead")
                j -= 1
        if inside:
            line.tags.add("region")
        if END_RE.match(line.text):
            inside = False
            if i + 1 < len(lines) and lines[i + 1].text == "}":
                lines[i + 1].tags.add("lead")       # the end of a function that is the step
    return lines


def fragments(lesson, lang="en"):
    """(the lesson it compares with, [code fragments]) from the README's
    "What changed since lesson NN" section; (None, []) without one."""
    readme = ROOT / "lessons" / lesson / ("README.md" if lang == "en" else "README.zh.md")
    text = readme.read_text(encoding="utf-8")
    m = SECTION_RE[lang].search(text)
    if not m:
        return None, []
    end = re.search(r"^#{1,2} ", text[m.end():], re.M)
    section = text[m.end():m.end() + end.start()] if end else text[m.end():]
    # The list's items (a line starting "- " and the indented lines after it),
    # not the sentence that introduces them.
    items = re.findall(r"^- .*(?:\n[ \t]+\S.*)*", section, re.M)
    return m.group(1), [f for item in items for f in FRAGMENT_RE.findall(item)]


def hunks(matcher, old, new):
    """The diff's hunks, as diff -u shows them (changes less than seven equal
    lines apart are one hunk): (removed lines, added lines) of each."""
    out = []
    for group in matcher.get_grouped_opcodes(CONTEXT):
        removed = [l for op, i1, i2, _, _ in group if op != "equal" for l in old[i1:i2]]
        added = [l for op, _, _, j1, j2 in group if op != "equal" for l in new[j1:j2]]
        out.append((removed, added))
    return out


def compare(before, after, frags):
    """The lines of `after` (the later lesson's file) and `before` that differ
    and are not explained: ["+ 12: text", "- 9: text"], and the fragments that
    explained something or at least occur in a changed line."""
    old = [line for line in tagged_lines(before) if not MARKER_RE.match(line.text)]
    new = tagged_lines(after)
    matcher = difflib.SequenceMatcher(None, [l.text for l in old], [l.text for l in new], autojunk=False)
    bad, seen = [], set()
    for removed, added in hunks(matcher, old, new):
        hit = {f for f in frags if any(f in l.text for l in removed + added)}
        seen |= hit
        if hit:
            continue
        step = any(l.tags & {"region", "lead"} for l in added)
        for sign, lines in (("-", removed), ("+", added)):
            for l in lines:
                if not l.text.strip() or (step and is_comment(l.text)):
                    continue
                if sign == "+" and l.tags or sign == "-" and l.tags & {"header", "about", "include"}:
                    continue
                bad.append(f"{sign} {l.no}: {l.text}")
    return bad, seen


def pairs():
    """(earlier lesson, later lesson, program) for each program both have."""
    return [(a, b, prog) for a, b in zip(LESSONS, LESSONS[1:]) for prog in PROGRAMS
            if (ROOT / "lessons" / a / prog).is_file() and (ROOT / "lessons" / b / prog).is_file()]


def report(lesson):
    """What lesson (compared with the one before it) leaves unexplained: a list
    of problems, empty when every difference is its step or named."""
    prev = LESSONS[LESSONS.index(lesson) - 1]
    since, frags = fragments(lesson)
    problems = []
    if since is not None and since != prev[:2]:
        problems.append(f"lessons/{lesson}/README.md: the section says 'since lesson {since}', "
                        f"the lesson before is {prev}")
    seen = set()
    for a, b, prog in pairs():
        if b != lesson:
            continue
        bad, hit = compare((ROOT / "lessons" / a / prog).read_text(), (ROOT / "lessons" / b / prog).read_text(),
                           frags)
        seen |= hit
        if bad:
            problems.append(f"lessons/{b}/{prog} differs from lessons/{a}/{prog} in lines that are not "
                            f"lesson {b[:2]}'s new step:\n    " + "\n    ".join(bad))
    vague = [f for f in frags if len(f) < MIN_FRAGMENT]
    if vague:
        problems.append(f"lessons/{lesson}/README.md: fragments this short would explain any hunk: "
                        f"{vague} (quote at least {MIN_FRAGMENT} characters of the changed code)")
    stale = [f for f in frags if f not in seen]
    if stale:
        problems.append(f"lessons/{lesson}/README.md names changes no changed line contains "
                        f"(stale?): {stale}")
    return problems


HOW = ("Make those lines the same as the earlier lesson's, move them into the new step's solution "
       "region, or name the change in the lesson's README under '## What changed since lesson NN' "
       "with a `code fragment` of it (and its twin, '## 与第NN课相比改了什么').")


# The handout replaces each solution region by a hole: there the lessons
# differ by their holes, and this check is the kit's, not the student's.
IN_HANDOUT = not any("BEGIN SOLUTION" in p.read_text() for p in (ROOT / "lessons").glob("*/*.c"))
kit_only = pytest.mark.skipif(IN_HANDOUT, reason="the handout's lessons have holes, not solution regions")

# What a student's usual calls need (perror, exit, strlen, close, errno, ...),
# in every lesson file, so the first one compiles wherever it is written.
USUAL_HEADERS = ("errno.h", "stdio.h", "stdlib.h", "string.h", "sys/socket.h", "unistd.h")


def test_each_lesson_file_includes_the_usual_headers():
    for c in sorted((ROOT / "lessons").glob("*/*.c")):
        text = c.read_text()
        missing = [h for h in USUAL_HEADERS if f"#include <{h}>" not in text]
        assert not missing, f"{c.relative_to(ROOT)} lacks {missing}"


def test_lessons_08_to_10_run_lesson_07s_client():
    """One client where the clients are one: no copies of lesson 07's."""
    for lesson in ("08-fork", "09-poll", "10-epoll"):
        assert not (ROOT / "lessons" / lesson / "client.c").exists(), (
            f"lessons/{lesson}/client.c: lesson 07's client is built for it (see the Makefile)")
        readme = (ROOT / "lessons" / lesson / "README.md").read_text(encoding="utf-8")
        assert "lessons/07-framing/client.c" in readme, f"lessons/{lesson}/README.md: say whose client it runs"


def test_there_are_pairs_to_compare():
    names = {(a, b, p) for a, b, p in pairs()}
    assert ("01-socket", "02-bind", "server.c") in names
    assert ("06-close", "07-framing", "client.c") in names
    assert ("09-poll", "10-epoll", "server.c") in names


@kit_only
def test_each_lesson_is_the_one_before_plus_its_new_step():
    problems = [p for lesson in LESSONS[1:] for p in report(lesson)]
    assert not problems, "\n".join(problems) + "\n" + HOW


def test_each_chinese_twin_names_the_same_changes():
    for lesson in LESSONS[1:]:
        en, zh = fragments(lesson, "en"), fragments(lesson, "zh")
        assert zh == en, (f"lessons/{lesson}: README.zh.md's '与第NN课相比改了什么' should list the same "
                          f"code fragments as README.md's 'What changed since lesson NN':\n{en}\n{zh}")


BEFORE = """/*
 * server.c - lesson 01.
 */
#include <stdio.h>

int main(void)
{
    int fd = -1;

    /* Step 1: make it. */
    /* BEGIN SOLUTION */
    /* STUB: not_implemented(1); */
    fd = make();
    /* END SOLUTION */
    /* Step 2 is lesson 02. */
    return fd;
}
"""
AFTER = """/*
 * server.c - lesson 02, its header changed.
 */
#include <stdio.h>
#include <string.h>

int main(void)
{
    int fd = -1;

    /* Step 1: make it. */
    fd = make();
    /* Step 2: use it. */
    /* BEGIN SOLUTION */
    /* STUB: not_implemented(2); */
    use(fd);
    /* END SOLUTION */
    return fd;
}
"""


def test_the_step_header_and_includes_are_explained_and_nothing_else():
    assert compare(BEFORE, AFTER, []) == ([], set())
    bad, _ = compare(BEFORE, AFTER.replace("int fd = -1;", "int fd = 0;"), [])
    assert bad == ["- 8:     int fd = -1;", "+ 9:     int fd = 0;"]
    assert compare(BEFORE, AFTER.replace("int fd = -1;", "int fd = 0;"), ["int fd = 0;"]) == ([], {"int fd = 0;"})
    # A step's code left outside its region is not the step.
    bad, _ = compare(BEFORE, AFTER.replace("    /* END SOLUTION */\n    return", "    /* END SOLUTION */\n"
                                                                                 "    use(fd);\n    return"), [])
    assert bad == ["+ 18:     use(fd);"]

