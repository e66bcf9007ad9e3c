"""test_check.py - make check's verdicts speak of the student's program.

Each verdict is built from what a failed test recorded (its message, the
programs' stderr): the failed call and its classic cause, the program's own
words (perror's too), never the harness's (`exit None`, wchan, reprs); whole
messages wrapped, never cut; `next:` names the step most failures are about
and its program; and every word make check prints has its Chinese.
"""
import ast
import importlib
import os
import re
import string
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


@pytest.fixture
def check(monkeypatch):
    monkeypatch.setenv("LAB_LANG", "en")
    monkeypatch.delenv("LAB_CHECK_VERBOSE", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    import grader.check as mod
    return importlib.reload(mod)


def record(test, doc, message, procs=(), output=""):
    return {"test": test, "doc": doc, "outcome": "failed", "message": message, "crash_type": "",
            "output": output, "procs": [dict(p) for p in procs]}


BIND_PTR = record(
    "test_port_zero_binds", "step 2 (bind): bind(0.0.0.0:0) = 0, getsockname() learns the port.",
    "AssertionError: step 2 (bind): expected bind(fd, 0.0.0.0:0) = 0; strace saw bind(3, {sa_family=AF_INET, "
    "sa_data=\"\\0\\0\\0\\0\\0\\0\"}, 8) = -1\nassert (None, None, -1) == ('0.0.0.0', 0, 0)",
    [{"prog": "server", "exit": 1, "stderr":
      "[server] step 1 create socket  socket(AF_INET, SOCK_STREAM, 0) = 3\n"
      "[server] step 2 bind address  bind(3, (AF_INET, 8 bytes), 8) = -1 EINVAL (Invalid argument)\n"
      "bind: Invalid argument\n"}])


def test_a_bind_with_the_size_of_a_pointer_reads_as_bind_failing_with_einval_because_of_the_length(check):
    lines = dict(check.verdict("02-bind", BIND_PTR))
    assert lines["happened:"].startswith("the server's bind(3, (AF_INET, 8 bytes), 8) failed: EINVAL"), lines
    assert "address length 8" in lines["happened:"] and "pointer" in lines["happened:"], lines
    # perror's line (no "server:" in front) is the program's own words.
    assert lines["it said:"] == "bind: Invalid argument", lines
    text = " ".join(lines.values())
    assert "None" not in text and "assert" not in text, text


def test_harness_words_never_reach_the_verdict(check):
    r = record("test_two_clients", "step 6 (close): two clients in a row, then SIGTERM: exit 0.",
               "AssertionError: /tmp/x/build/06-close/server never blocked in accept() (wchan: anon_pipe_write)\n"
               "<build/06-close/server -k 0 exit None>",
               [{"prog": "server", "exit": None, "stderr": "server: accept on fd 3: Bad file descriptor (EBADF)\n"
                 "server: accept on fd 3: Bad file descriptor (EBADF)\nserver: accept on fd 3: Bad file descrip"}])
    lines = check.verdict("06-close", r)
    text = " ".join(t for _, t in lines)
    for harness in ("exit None", "wchan", "anon_pipe_write", "/tmp/x/build", "never appeared"):
        assert harness not in text, lines
    said = dict(lines)["it said:"]
    assert said.startswith("server: accept on fd 3: Bad file descriptor (EBADF)"), lines  # the whole last line
    r = record("test_json", "step 4 (accept): the --json trace: accept() = new fd.",
               "ConnectionRefusedError: [Errno 111] Connection refused",
               [{"prog": "server", "exit": 1, "stderr":
                 '{"prog":"server","call":"accept","text":"accept(0, addr, 128)","ret":-1,"errno":"ENOTSOCK",'
                 '"error":"Socket operation on non-socket"}\nserver: accept on fd 3: Socket operation on non-socket\n'}])
    lines = dict(check.verdict("04-accept", r))
    assert lines["happened:"].startswith("the server's accept(0, addr, 128) failed: ENOTSOCK "
                                         "(Socket operation on non-socket): fd 0 is not a socket"), lines
    assert "the server exited with status 1" in lines["happened:"] and '{"' not in " ".join(lines.values())


def test_an_exception_of_the_test_is_told_as_what_the_program_did(check):
    r = record("test_reply", "server step 5 (talk): a frame in, a framed ok out.", "TimeoutError: timed out")
    assert dict(check.verdict("07-framing", r))["happened:"] == "the server did not answer in time"
    r = record("test_x", "client step 3 (talk): ...", "ConnectionResetError: [Errno 104] Connection reset by peer")
    assert dict(check.verdict("07-framing", r))["happened:"] == "the client reset the connection (RST)"


def test_a_stub_is_named_with_its_file(check):
    r = record("test_x", "step 1 (socket): a socket.", "AssertionError: step 1 (socket): expected a socket() call",
               [{"prog": "server", "exit": 1, "stderr": "server: step 1 not implemented yet: write it at TODO(step 1)\n"}])
    assert dict(check.verdict("01-socket", r))["happened:"] == (
        'the server stopped at TODO(step 1) in lessons/01-socket/server.c ("step 1 not implemented yet")')


def test_next_names_the_step_most_failures_are_about_and_its_program(check):
    failed = [record("a", "step 6 (close): one.", "x"), record("b", "step 2 (bind): --bind ::.", "x"),
              record("c", "step 6 (close): two.", "x"), record("d", "step 6 (close): three.", "x")]
    nxt = check.next_fix("06-close", failed)
    assert nxt.startswith("lesson 06-close, server step 6: fix it in lessons/06-close/server.c"), nxt
    failed = [record("a", "server step 5 (talk): x.", "x"), record("b", "client step 3 (talk): y.", "x"),
              record("c", "client step 3 (talk): z.", "x")]
    assert check.next_fix("07-framing", failed).startswith(
        "lesson 07-framing, client step 3: fix it in lessons/07-framing/client.c")
    # As many about each: the server first (a broken server fails the client's tests too).
    failed = [record("b", "client step 3 (talk): y.", "x"), record("a", "server step 5 (talk): x.", "x")]
    assert check.next_fix("07-framing", failed).startswith(
        "lesson 07-framing, server step 5: fix it in lessons/07-framing/server.c")
    assert check.next_fix("02-bind", [record("a", "step 2 (bind): x.", "x")]).startswith(
        "lesson 02-bind, step 2: fix it in lessons/02-bind/server.c")


def test_wrap_keeps_every_word_and_stays_within_the_width(check):
    text = "expected " + " ".join(f"word{i}" for i in range(80)) + " THE-END"
    lines = check.wrap(text, "         expected: ", cols=80)
    assert all(check.display_len(l) <= 80 for l in lines), lines
    assert " ".join(" ".join(lines).split()) == " ".join(("expected: " + text).split())
    zh = check.wrap("服务器的 bind(3, (AF_INET, 8 bytes), 8) 失败了：" + "地址长度不是地址的大小" * 8, "实际：", cols=60)
    assert all(check.display_len(l) <= 60 for l in zh) and len(zh) > 2, zh
    assert "".join(l.strip() for l in zh).replace(" ", "").endswith("地址的大小")


def underscore_texts():
    """Every literal passed to _() in check.py."""
    tree = ast.parse((ROOT / "grader" / "check.py").read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.add(node.args[0].value)
    return out


def fields(text):
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)


def test_every_word_of_make_check_has_its_chinese_with_the_same_fields(check):
    texts = underscore_texts() | set(check.EXCEPTIONS.values()) | {"server", "client", "expected:", "happened:",
                                                                   "it said:", "details:", "next:"}
    assert len(texts) > 30
    missing = sorted(t for t in texts if t not in check.ZH)
    assert not missing, f"no Chinese for: {missing}"
    for en, zh in check.ZH.items():
        assert fields(en) == fields(zh), f"{en!r} and {zh!r} fill different fields"
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{zh!r} is not Chinese"


def test_chinese_under_a_chinese_lang(monkeypatch):
    monkeypatch.delenv("LAB_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    import grader.check as mod
    mod = importlib.reload(mod)
    try:
        lines = dict(mod.verdict("02-bind", BIND_PTR))
        assert lines["happened:"].startswith("服务器的 bind(3, (AF_INET, 8 bytes), 8) 失败了"), lines
        assert mod._("lesson {lesson}: {passed} of {total} tests pass", lesson="02-bind", passed=1, total=7) \
            == "第02-bind课：7个测试中1个通过"
        assert mod._("FAIL") == "失败" and mod._("ok") == "通过" and mod._("next:") == "下一步："
    finally:
        os.environ["LAB_LANG"] = "en"
        importlib.reload(mod)
