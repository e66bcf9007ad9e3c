#!/usr/bin/env python3
"""check.py - `make check`: is my lesson done? (tools/check.py in the handout)

    make check               the lessons in order; stops at the first one not done
                             and says which lesson and step to write next
    make check LESSON=03     build, then check lesson 03 only (03, 3 or 03-listen)

Each lesson is built first (make, for that lesson's programs: a compiler
error stops the check and is shown as the compiler said it; a program is
never tested stale), then its tests run in one pytest run, and each test
gets a short verdict: which step, what was expected, what happened.
Exit status: 0 every checked lesson passes, 1 one does not (or does not
build), 2 usage error.

The same file is the pytest plugin that collects the verdicts
(`-p check`, with tools/ on PYTHONPATH). Python 3 standard library and pytest.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LAB_BUILD", ROOT / "build"))
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]-*") if p.is_dir())
STUB_RE = re.compile(r"(server|client): step (\d+) not implemented yet")
STEP_RE = re.compile(r"^\s*(?:(server|client) )?steps? (\d+)(?:[-/]\d+)?(?: \([^)]*\))?:\s*")
PYTHON = os.environ.get("CHECK_PYTHON", sys.executable)
VERBOSE = os.environ.get("LAB_CHECK_VERBOSE", "") not in ("", "0")


# --- words: English, or Chinese under a Chinese LANG or LAB_LANG=zh ----------
# Every text make check prints goes through _(); ZH holds its Chinese
# (grader/tests/test_check.py checks that each _() text has an entry here).
ZH = {
    "lesson {lesson}: done - all {n} tests pass": "第{lesson}课：完成，{n}个测试全部通过",
    "lesson {lesson}: {passed} of {total} tests pass": "第{lesson}课：{total}个测试中{passed}个通过",
    "lesson {lesson}: does not build. The compiler said:": "第{lesson}课：编译不通过。编译器说：",
    "fix the build first ({where} line {line}), then: make check LESSON={num}":
        "先改正编译错误（{where} 第{line}行），然后：make check LESSON={num}",
    "fix the build first, then: make check LESSON={num}": "先改正编译错误，然后：make check LESSON={num}",
    "lesson {lesson}: the tests could not run. pytest said:": "第{lesson}课：测试无法运行。pytest说：",
    "lesson {lesson}: no tests found": "第{lesson}课：没有找到测试",
    "all {n} lessons done.": "{n}课全部完成。",
    "ok": "通过",
    "FAIL": "失败",
    "skip": "跳过",
    "expected:": "期望：",
    "happened:": "实际：",
    "it said:": "程序说：",
    "details:": "详情：",
    "step {step}": "第{step}步",
    "server step {step}": "服务器第{step}步",
    "client step {step}": "客户端第{step}步",
    "next:": "下一步：",
    "lesson {lesson}, {what}: write it at TODO(step {step}) in {file}":
        "第{lesson}课，{what}：在 {file} 的 TODO(step {step}) 处写出这一步",
    "then: {others}": "然后：{others}",
    "lesson {lesson}, {what}: fix it in {file} (see the verdicts above), then: make check LESSON={num}":
        "第{lesson}课，{what}：在 {file} 里改正（见上面的结论），然后：make check LESSON={num}",
    "lesson {lesson}: fix the failures above, then: make check LESSON={num}":
        "第{lesson}课：改正上面的失败，然后：make check LESSON={num}",
    "the {prog} stopped at TODO(step {step}) in {file} (\"step {step} not implemented yet\")":
        "{prog}停在了 {file} 的 TODO(step {step}) 处（\"step {step} not implemented yet\"）",
    "the {prog}'s {call} failed: {errno}": "{prog}的 {call} 失败了：{errno}",
    "the {prog} exited with status {code}": "{prog}以状态{code}退出",
    "the {prog} was killed by signal {sig}": "{prog}被信号{sig}杀死",
    "the {prog} crashed: {sig}": "{prog}崩溃了：{sig}",
    "connecting was refused: nothing listened on the {prog}'s port (it had stopped, or never listened)":
        "连接被拒绝：{prog}的端口上没有人在监听（它已经退出，或者从未监听）",
    "the {prog} did not answer in time": "{prog}没有及时回复",
    "the {prog} reset the connection (RST)": "{prog}重置了连接（RST）",
    "the {prog} closed the connection while the test was still sending":
        "测试还在发送时，{prog}就关闭了连接",
    "the {prog} did not exit in time": "{prog}没有按时退出",
    "the {prog} was still running": "{prog}还在运行",
    "the test saw {seen}, not {wanted}": "测试看到的是 {seen}，而不是 {wanted}",
    "the test failed; run make check V=1 for its full report": "测试失败；用 make check V=1 查看完整报告",
    ": the address length {n} is not the address's size (sizeof(struct sockaddr_in) is 16): sizeof of a pointer?":
        "：地址长度{n}不是地址的大小（sizeof(struct sockaddr_in) 是16）：是不是对指针用了sizeof？",
    ": fd {fd} is not open (closed already, or never set)": "：fd {fd} 没有打开（已经关闭，或者从未赋值）",
    ": fd {fd} is not a socket (the wrong variable?)": "：fd {fd} 不是socket（用错了变量？）",
    " (printed {n} times)": "（打印了{n}次）",
    "server": "服务器",
    "client": "客户端",
    "program": "程序",
    "(make check V=1 shows every detail)": "（make check V=1 显示全部细节）",
}


def chinese():
    lab = os.environ.get("LAB_LANG", "")
    if lab:
        return lab.lower().startswith("zh")
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return os.environ[var].lower().startswith("zh")
    return False


ZH_ON = chinese()


def _(text, **kw):
    """The text in the student's language, its {fields} filled in."""
    return (ZH.get(text, text) if ZH_ON else text).format(**kw)


def prog_word(prog):
    return _(prog) if prog in ("server", "client") else prog


# --- wrapping: whole messages, never cut ---------------------------------------
def width():
    """The terminal's width (COLUMNS first); not on a terminal, no wrapping: a
    log or a pipe gets each message on one whole line."""
    if not os.environ.get("COLUMNS") and not sys.stdout.isatty():
        return 10 ** 6
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))


def display_len(text):
    """Columns on a terminal: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
TOKEN_RE = re.compile(f"[{CJK}]|[^\\s{CJK}]+|\\s+")


def wrap(text, first, rest=None, cols=None):
    """`first` + text, wrapped at the terminal's width (or `cols`); the next
    lines indented like `rest` (default: as wide as `first`). Whole words
    (a Chinese character is one), nothing cut."""
    rest = " " * display_len(first) if rest is None else rest
    cols = cols or width()
    lines, line, fresh = [], first, True
    for tok in TOKEN_RE.findall(" ".join(text.split())):
        if tok.isspace():
            if not fresh:
                line += " "
            continue
        if not fresh and display_len(line + tok) > cols:
            lines.append(line.rstrip())
            line, fresh = rest, True
        line += tok
        fresh = False
    lines.append(line.rstrip())
    return lines


# --- what happened, said of the program and not of the harness --------------------
TRACE_LINE_RE = re.compile(r"^\[(server|client)\] ")
FAILED_CALL_RE = re.compile(r"^\[(server|client)\] (?:step \d+ [^(]*?\s\s|\s+)?([a-z_0-9]+\(.*\)) = -1 ([A-Z][A-Z0-9]+)"
                            r"(?: \(([^)]*)\))?")
HINT_RE = re.compile(r"^\s*(?:hint:|\w+: hint:)")
STRACE_FD_RE = re.compile(r"(\d+)<((?:[^<>]|<[^<>]*>)*)>")
EXCEPTIONS = {
    "ConnectionRefusedError": "connecting was refused: nothing listened on the {prog}'s port "
                              "(it had stopped, or never listened)",
    "TimeoutError": "the {prog} did not answer in time",
    "timeout": "the {prog} did not answer in time",
    "ConnectionResetError": "the {prog} reset the connection (RST)",
    "BrokenPipeError": "the {prog} closed the connection while the test was still sending",
    "TimeoutExpired": "the {prog} did not exit in time",
}
EXCEPTION_RE = re.compile(r"^(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Expired)|timeout)\b:?")
SIGNALS = {"SIGSEGV": "segmentation fault (SIGSEGV): a bad pointer or an array overrun",
           "SIGABRT": "aborted (SIGABRT): an assert, a sanitizer or a double free",
           "SIGPIPE": "killed by SIGPIPE: a send() to a closed connection without MSG_NOSIGNAL",
           "SIGFPE": "arithmetic error (SIGFPE)", "SIGBUS": "bus error (SIGBUS)"}


def plain(text):
    """Harness words out of a message: strace's fd decorations, /proc's wchan,
    `exit None`, absolute paths of the programs, long pointers."""
    text = STRACE_FD_RE.sub(lambda m: f"{m.group(1)} ({m.group(2).split('<')[0]})" if m.group(2) else m.group(1),
                            text)
    text = re.sub(r"\s*\(wchan: [^)]*\)", "", text)
    text = re.sub(r"\bexit None\b", "still running", text)
    text = re.sub(r"\bNone\b", "none", text)
    text = re.sub(r"(?:/[\w.+-]+)+/build(?:/san)?/(\d\d-[\w-]+)/(server|client)\b", r"\1's \2", text)
    text = re.sub(r"\b0x[0-9a-f]{8,}\b", "0x...", text)
    text = re.sub(r"Call\(name='(\w+)', raw='\w+', args='([^']*)', ret=(-?\d+|None), errno='(\w*)'\)",
                  lambda m: f"{m.group(1)}({m.group(2)}) = {m.group(3)}{' ' + m.group(4) if m.group(4) else ''}",
                  text)
    return text.strip()


def speaks(line):
    """Whether a message's first line is the test speaking (not a repr, a bare
    assert or an exception of the harness)."""
    return bool(line) and not line.startswith(("assert ", "<", "{", "[", "+", "-", "where ")) \
        and not EXCEPTION_RE.match(line)


def program_lines(r):
    """[(prog, stderr line)] of the programs the test ran."""
    out = []
    for p in r.get("procs", []):
        for line in p["stderr"].split("\n"):
            out.append((p["prog"], line))
    return out


def failed_call(r):
    """(prog, call, errno text) of the last socket call the trace saw fail, or None."""
    found = None
    for prog, line in program_lines(r):
        m = FAILED_CALL_RE.match(line)
        if m:
            errno = m.group(3) + (f" ({m.group(4)})" if m.group(4) else "")
            found = (m.group(1), m.group(2), errno)
        elif line.startswith("{") and '"ret":-1' in line:
            try:
                ev = json.loads(line)
                found = (ev.get("prog", prog), ev.get("text", ev.get("call", "?")),
                         ev.get("errno", "") + (f" ({ev['error']})" if ev.get("error") else ""))
            except ValueError:
                pass
    return found


ADDR_LEN_RE = re.compile(r"^(bind|connect)\(\d+, .*, (\d+)\)$")


def why_failed(call, errno):
    """A few words on the classic causes of a failed call, from its arguments."""
    m = ADDR_LEN_RE.match(call)
    if m and errno.startswith("EINVAL") and int(m.group(2)) < 16:
        return _(": the address length {n} is not the address's size (sizeof(struct sockaddr_in) is 16): "
                 "sizeof of a pointer?", n=m.group(2))
    fd = re.match(r"^\w+\((-?\d+)", call)
    if fd and errno.startswith("EBADF"):
        return _(": fd {fd} is not open (closed already, or never set)", fd=fd.group(1))
    if fd and errno.startswith("ENOTSOCK"):
        return _(": fd {fd} is not a socket (the wrong variable?)", fd=fd.group(1))
    return ""


def said(r):
    """The last whole line a program printed on stderr itself (its error
    message, perror's included): not the trace, not JSON, not a hint; with
    how many times it came when it came again and again."""
    lines = []
    for p in r.get("procs", []):
        text = p["stderr"]
        whole = text.split("\n")[:-1] if not text.endswith("\n") else text.split("\n")
        for line in whole:
            s = line.strip()
            if not s or TRACE_LINE_RE.match(line) or line.startswith((" ", "{", "\t")) or HINT_RE.match(s) \
                    or "not implemented yet" in s or s.startswith("[..."):
                continue
            lines.append(s)
    if not lines:
        return None
    times = lines.count(lines[-1])
    return lines[-1] + (_(" (printed {n} times)", n=times) if times > 2 else "")


def exit_of(r, prog):
    """How the test's program ended, in words, when it did not exit 0."""
    for p in r.get("procs", []):
        if p["prog"] != prog or p["exit"] in (None, 0):
            continue
        code = p["exit"]
        if code < 0:
            sig = signal_name(-code)
            if sig in SIGNALS:
                return _("the {prog} crashed: {sig}", prog=prog_word(prog), sig=SIGNALS[sig])
            if sig in ("SIGKILL", "SIGTERM", "SIGINT"):
                continue                # the test's own stop
            return _("the {prog} was killed by signal {sig}", prog=prog_word(prog), sig=sig)
        return _("the {prog} exited with status {code}", prog=prog_word(prog), code=code)
    return None


def signal_name(n):
    import signal as sigmod
    try:
        return sigmod.Signals(n).name
    except ValueError:
        return str(n)


def simple_comparison(message):
    """'the test saw X, not Y' from `assert X == Y` when both are plain values."""
    for line in message.split("\n"):
        m = re.match(r"^assert (.{1,60}?) == (.{1,60})$", line.strip())
        if not m:
            continue
        seen, wanted = m.group(1), m.group(2)
        value = r"^(-?\d+(\.\d+)?|b?'[^']*'|b?\"[^\"]*\"|True|False)$"
        if re.match(value, seen) and re.match(value, wanted) and "..." not in seen + wanted:
            return _("the test saw {seen}, not {wanted}", seen=decoded(seen), wanted=decoded(wanted))
    return None


def decoded(literal):
    """b'\\xe8\\xbf\\x99' -> "这" when the bytes are UTF-8 text."""
    if literal.startswith(("b'", 'b"')):
        try:
            import ast
            return '"' + ast.literal_eval(literal).decode("utf-8") + '"'
        except (ValueError, SyntaxError, UnicodeDecodeError):
            return literal
    return literal


def verdict(lesson, r):
    """[(label, text)]: what the failed test expected, what happened, what the
    program said; each said of the program, whole (V=1 adds the report)."""
    out = []
    message = r["message"].removeprefix("AssertionError: ").strip()
    first = message.split("\n", 1)[0].strip()
    about = step_of(r)
    prog = "client" if about and about.startswith("client") else "server"
    doc = STEP_RE.sub("", r["doc"].split("\n\n")[0]) if r["doc"] else ""
    harness = re.search(r"never appeared on \w+|did not exit within|is missing: run 'make'", first)
    if speaks(first) and not harness:
        # The test's own sentence: its first line, less a dump announced at its end.
        expected = plain(re.sub(r"[;,:]?\s*(strace saw|saw|got|trace):?\s*$", "", STEP_RE.sub("", first)))
        expected = re.sub(r"^expected:?\s+", "", expected)
        if expected and " ".join(expected.split()) != " ".join(doc.split()):
            out.append(("expected:", expected))
    stub = STUB_RE.search(r["output"] + "\n".join(l for _p, l in program_lines(r)))
    if stub:
        sprog, step = stub.group(1), stub.group(2)
        out.append(("happened:", _("the {prog} stopped at TODO(step {step}) in {file} (\"step {step} not "
                                   "implemented yet\")", prog=prog_word(sprog), step=step,
                                   file=f"lessons/{lesson}/{sprog}.c")))
        return out
    happened = []
    call = failed_call(r)
    if call:
        happened.append(_("the {prog}'s {call} failed: {errno}", prog=prog_word(call[0]), call=call[1],
                          errno=call[2]) + why_failed(call[1], call[2]))
    ended = exit_of(r, call[0] if call else prog)
    if ended:
        happened.append(ended)
    exc = EXCEPTION_RE.match(first)
    if not happened and exc and exc.group(1) in EXCEPTIONS:
        happened.append(_(EXCEPTIONS[exc.group(1)], prog=prog_word(prog)))
    if not happened and harness:
        if "did not exit within" in first:
            happened.append(_("the {prog} did not exit in time", prog=prog_word(prog)))
        elif "(exit None)" in first:
            happened.append(_("the {prog} did not answer in time", prog=prog_word(prog)))
    if not happened and not speaks(first):
        cmp = simple_comparison(message)
        if cmp:
            happened.append(cmp)
    if happened:
        out.append(("happened:", "; ".join(happened)))
    words = said(r)
    if words:
        out.append(("it said:", words))
    if not out:
        out.append(("happened:", _("the test failed; run make check V=1 for its full report")))
    return out


def details(r):
    """V=1: the test's whole report and the programs' stderr, as they are."""
    lines = r["message"].rstrip().split("\n")
    for p in r.get("procs", []):
        if p["stderr"].strip():
            lines.append(f"--- {p['prog']} (exit {p['exit']}) stderr:")
            lines.extend(p["stderr"].rstrip().split("\n")[-40:])
    return lines


def usage(msg=None):
    if msg:
        print(f"check: {msg}", file=sys.stderr)
    print("usage: make check [LESSON=NN]   (NN: " + ", ".join(LESSONS) + ")", file=sys.stderr)
    return 2


def find_lesson(text):
    """'03', '3', '03-listen' or 'listen' -> '03-listen' (None if no such lesson)."""
    text = text.strip().strip("/").removeprefix("lessons/")
    for lesson in LESSONS:
        num, name = lesson.split("-", 1)
        if text in (lesson, num, name) or (text.isdigit() and int(text) == int(num)):
            return lesson
    return None


def make_env():
    """The environment for make: the parent make's flags (SAN=1, V=1) but
    not its jobserver, whose pipes a child of Python does not inherit."""
    env = dict(os.environ)
    flags = env.get("MAKEFLAGS", "")
    flags = re.sub(r"--jobserver-(auth|fds)=\S+|(^|\s)-j\d*", " ", flags).strip()
    env["MAKEFLAGS"] = flags
    env.pop("MAKELEVEL", None)
    return env


def programs(lesson):
    return [str((BUILD / lesson / c.stem).relative_to(ROOT)) if BUILD.is_relative_to(ROOT)
            else str(BUILD / lesson / c.stem)
            for c in sorted((ROOT / "lessons" / lesson).glob("*.c"))]


def build_all():
    """Build what the tests need beside the lessons (the library, libfault.so).
    A lesson that does not compile is reported when it is checked, so this
    keeps going (-k) and says nothing."""
    subprocess.run(["make", "-s", "-k", "--no-print-directory"], cwd=ROOT, env=make_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def build_lesson(lesson):
    """make the lesson's programs; (ok, what make and the compiler said)."""
    r = subprocess.run(["make", "-s", "--no-print-directory", *programs(lesson)], cwd=ROOT, env=make_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    return r.returncode == 0, r.stdout


def run_tests(lesson):
    """One pytest run over the lesson's tests; a list of result dicts (see the
    plugin below), or (None, pytest's output) when pytest itself failed."""
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        results = Path(tmp) / "results.json"
        env = dict(os.environ, CHECK_RESULTS=str(results), LAB_BUILD=str(BUILD),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tools"), os.environ.get("PYTHONPATH")])))
        r = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "check", "-p", "no:cacheprovider",
                            f"lessons/{lesson}/tests"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        if not results.exists():
            return None, r.stdout
        return json.loads(results.read_text()), r.stdout


def step_of(result):
    """'step 3', 'client step 2' (from the test's docstring or message), or None."""
    for text in (result["doc"], result["message"].removeprefix("AssertionError: ")):
        m = STEP_RE.match(text or "")
        if m:
            return f"{m.group(1) + ' ' if m.group(1) else ''}step {m.group(2)}"
    return None


def step_words(label):
    """'client step 3' -> 'client step 3' in the student's language."""
    step = label.rsplit(" ", 1)[1]
    if label.startswith("client "):
        return _("client step {step}", step=step)
    if label.startswith("server "):
        return _("server step {step}", step=step)
    return _("step {step}", step=step)


def next_fix(lesson, failed):
    """The step to fix first: the one most failed tests are about (server
    before client on a tie, then the first failure), and its program."""
    counts, first = {}, {}
    for n, r in enumerate(failed):
        label = step_of(r)
        if label:
            counts[label] = counts.get(label, 0) + 1
            first.setdefault(label, n)
    num = lesson[:2]
    if not counts:
        return _("lesson {lesson}: fix the failures above, then: make check LESSON={num}", lesson=lesson, num=num)
    label = min(counts, key=lambda l: (-counts[l], l.startswith("client"), first[l]))
    prog = "client" if label.startswith("client") else "server"
    if not (ROOT / "lessons" / lesson / f"{prog}.c").exists():
        prog = "server"
    what = step_words(label if label.startswith(("server", "client")) or
                      not (ROOT / "lessons" / lesson / "client.c").exists() else f"server {label}")
    return _("lesson {lesson}, {what}: fix it in {file} (see the verdicts above), then: make check LESSON={num}",
             lesson=lesson, what=what, file=f"lessons/{lesson}/{prog}.c", num=num)


def check_lesson(lesson, verbose):
    """Build and test one lesson, print verdicts; (passed, next step or None)."""
    num = lesson[:2]
    ok, said_by_make = build_lesson(lesson)
    if not ok:
        print(_("lesson {lesson}: does not build. The compiler said:", lesson=lesson))
        print("\n".join("  " + l for l in said_by_make.rstrip().split("\n")[-30:]))
        where = re.search(r"(lessons/[\w-]+/\w+\.c):(\d+)", said_by_make)
        print(_("fix the build first ({where} line {line}), then: make check LESSON={num}", where=where.group(1),
                line=where.group(2), num=num) if where else
              _("fix the build first, then: make check LESSON={num}", num=num))
        return False, None
    results, output = run_tests(lesson)
    if results is None:
        print(_("lesson {lesson}: the tests could not run. pytest said:", lesson=lesson))
        print("\n".join("  " + l for l in output.rstrip().split("\n")[-20:]))
        return False, None
    if not results:
        print(_("lesson {lesson}: no tests found", lesson=lesson))
        return False, None
    failed = [r for r in results if r["outcome"] == "failed"]
    passed = [r for r in results if r["outcome"] == "passed"]
    if not failed and not verbose:
        print(_("lesson {lesson}: done - all {n} tests pass", lesson=lesson, n=len(passed)))
        return True, None
    print(_("lesson {lesson}: {passed} of {total} tests pass", lesson=lesson, passed=len(passed),
            total=len(results)))
    marks = {"passed": _("ok"), "failed": _("FAIL"), "skipped": _("skip")}
    mark_width = max(display_len(m) for m in marks.values()) + 1
    labels = [_(w) for w in ("expected:", "happened:", "it said:", "details:")]
    label_width = max(display_len(l) for l in labels) + 1
    for r in results:
        step = step_of(r)
        about = STEP_RE.sub("", (r["doc"].split("\n\n")[0] if r["doc"] else r["test"]))
        mark = marks[r["outcome"]]
        head = "  " + mark + " " * (mark_width - display_len(mark)) + (
            (step_words(step) + ("：" if ZH_ON else ": ")) if step else "")
        for line in wrap(about, head, " " * (2 + mark_width + 2)):
            print(line)
        indent = " " * (2 + mark_width + 2)
        if r["outcome"] == "failed":
            for label, text in verdict(lesson, r):
                word = _(label)
                first = indent + word + " " * (label_width - display_len(word))
                for line in wrap(text, first):
                    print(line)
            if VERBOSE:
                print(indent + _("details:"))
                for line in details(r):
                    print(indent + "  " + line)
        elif r["outcome"] == "skipped" and r["message"]:
            for line in wrap(r["message"], indent):
                print(line)
    if not failed:
        return True, None
    if not VERBOSE:
        print(_("(make check V=1 shows every detail)"))
    # The server's holes first (the README's order), then the client's.
    stubs = sorted({(m.group(1) != "server", int(m.group(2)), m.group(1))
                    for r in failed for m in STUB_RE.finditer(r["output"] + "\n".join(
                        l for _p, l in program_lines(r)))})
    if stubs:
        _c, step, prog = stubs[0]
        has_client = (ROOT / "lessons" / lesson / "client.c").exists()
        what = step_words(f"{prog} step {step}" if has_client else f"step {step}")
        nxt = _("lesson {lesson}, {what}: write it at TODO(step {step}) in {file}", lesson=lesson, what=what,
                step=step, file=f"lessons/{lesson}/{prog}.c")
        others = [step_words(f"{p} step {s}") for _c, s, p in stubs[1:]]
        return False, nxt + (f" ({_('then: {others}', others=', '.join(others))})" if others else "")
    return False, next_fix(lesson, failed)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        if len(argv) == 2:
            print(__doc__.split("\n\n")[1])
            return 0
        return usage("give at most one lesson")
    if not LESSONS:
        return usage("no lessons/ here: run it from the handout's top directory")
    if subprocess.run([PYTHON, "-c", "import pytest"], capture_output=True).returncode != 0:
        print(f"check: {PYTHON} has no pytest, which runs the lessons' tests; install it with\n"
              "  sudo apt-get install python3-pytest python3-pytest-timeout strace", file=sys.stderr)
        return 1
    lessons = LESSONS
    if len(argv) == 2 and argv[1].strip():
        one = find_lesson(argv[1])
        if one is None:
            return usage(f"no lesson '{argv[1]}'")
        lessons = [one]
    build_all()
    for lesson in lessons:
        done, nxt = check_lesson(lesson, verbose=len(lessons) == 1)
        if not done:
            if nxt:
                word = _("next:")
                for line in wrap(nxt, word + ("" if ZH_ON else " "), " " * (display_len(word) + 1)):
                    print(line)
            return 1
    if len(lessons) > 1:
        print(_("all {n} lessons done.", n=len(lessons)))
    return 0


# --- the pytest plugin (-p check): one result per test, into $CHECK_RESULTS ---

_results = {}


def _record(item, report):
    r = _results.setdefault(item.nodeid, {
        "test": item.name, "doc": (getattr(item.obj, "__doc__", None) or "").strip(),
        "outcome": "passed", "message": "", "crash_type": "", "output": ""})
    if report.failed and r["outcome"] != "failed":
        r["outcome"] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        r["message"] = crash.message if crash else str(report.longrepr)[-2000:]
        r["crash_type"] = r["message"].split(":", 1)[0] if crash else ""
        r["output"] = report.longreprtext[-20000:]
        r["procs"] = programs_of(item)
    elif report.skipped and r["outcome"] == "passed":
        r["outcome"] = "skipped"
        r["message"] = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""


def programs_of(item):
    """[{prog, exit, stderr}] of the programs the test ran (the lab fixture's)."""
    out = []
    lab = getattr(item, "funcargs", {}).get("lab")
    for proc in getattr(lab, "procs", []) or []:
        try:
            name = Path(proc.argv[0]).name
            out.append({"prog": name if name in ("server", "client") else "program",
                        "exit": proc.popen.poll(), "stderr": proc.stderr[-20000:]})
        except Exception:           # a harness without .argv/.stderr: nothing to add
            pass
    return out


try:
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        _record(item, outcome.get_result())

    def pytest_sessionfinish(session, exitstatus):
        path = os.environ.get("CHECK_RESULTS")
        if path and exitstatus in (0, 1):
            order = [i.nodeid for i in session.items if i.nodeid in _results]
            Path(path).write_text(json.dumps([_results[n] for n in order], ensure_ascii=False))
except ImportError:             # run as a script by a Python without pytest
    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
