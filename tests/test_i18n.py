# test_i18n.py - the programs in Chinese (gettext): the catalog translates
# every message the sources print, the programs find it beside themselves,
# LANG=zh_CN.UTF-8 gives Chinese help, errors and hints even on a machine
# with no Chinese locale generated, and the data lines and --json keys do
# not change with the language.
import ctypes
import os
import re
import shutil
import subprocess
import sys

import pytest

from labharness import BUILD, LESSONS, ROOT, fault_env, free_port, preload_fault_env, json_lines, program

CATALOG = BUILD / "locale" / "zh_CN" / "LC_MESSAGES" / "socketlab.mo"
PO = ROOT / "po" / "zh_CN.po"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Every language variable empty (glibc treats empty as unset), then these.
NO_LANG = {"LANG": "", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LAB_LANG": ""}
ZH = {**NO_LANG, "LANG": "zh_CN.UTF-8"}
EN = {**NO_LANG, "LANG": "C.UTF-8"}
PROGRAMS = [(lesson, p.stem) for lesson in LESSONS
            for p in sorted((ROOT / "lessons" / lesson).glob("*.c"))]
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_gettext():
    if shutil.which("msgfmt") and shutil.which("xgettext"):
        return
    msg = "gettext is not installed (apt-get install gettext)"
    if IN_CI:
        pytest.fail(msg + "; CI=true, so .ci/run must install it")
    pytest.skip(msg)


def po_entries(text):
    """{(msgctxt or None, msgid)} of a .po or .pot text, header and obsolete entries left out."""
    def unquote(lines):
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines))
    found = set()
    for m in re.finditer(r'^(?:msgctxt ((?:".*"\n)+))?msgid ((?:".*"\n)+)', text, re.M):
        msgid = unquote(m.group(2))
        if msgid:
            found.add((unquote(m.group(1)) if m.group(1) else None, msgid))
    return found


def help_text(lesson, prog, env):
    res = subprocess.run([program(lesson, prog), "--help"], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    return res.stdout


def run(lab, argv, env):
    return lab.run([str(a) for a in argv], env=env)


# --- the catalog -----------------------------------------------------------

def test_catalog_translates_every_message_none_fuzzy():
    need_gettext()
    res = subprocess.run(["msgfmt", "--statistics", "--check", "-o", os.devnull, str(PO)],
                         capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    assert res.returncode == 0, res.stderr
    stats = res.stderr.strip()
    assert re.match(r"^\d+ translated messages\.$", stats), \
        f"po/zh_CN.po: {stats} (translate them: 0 untranslated and 0 fuzzy)"


def test_catalog_has_every_message_the_sources_print(tmp_path):
    """po/extract.py (what `make po-update` runs) over src/, lessons/ and tools/:
    each message it finds must be in po/zh_CN.po, or the program would print
    it in English under zh_CN.UTF-8."""
    need_gettext()
    pot = tmp_path / "socketlab.pot"
    res = subprocess.run([sys.executable, str(ROOT / "po" / "extract.py"), str(pot)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    wanted = po_entries(pot.read_text(encoding="utf-8"))
    have = po_entries(PO.read_text(encoding="utf-8"))
    assert len(wanted) > 50, "extraction found almost nothing: keywords lost?"
    missing = sorted(wanted - have, key=str)
    assert not missing, ("not in po/zh_CN.po (run `make po-update` and translate):\n" +
                         "\n".join(f"  {c + ' | ' if c else ''}{m}" for c, m in missing[:20]))


def test_extraction_finds_each_lessons_about_text(tmp_path):
    need_gettext()
    pot = tmp_path / "socketlab.pot"
    subprocess.run([sys.executable, str(ROOT / "po" / "extract.py"), str(pot)], check=True)
    text = pot.read_text(encoding="utf-8")
    for lesson, prog in PROGRAMS:
        if re.search(r"^#\s*define\s+ABOUT\b", (ROOT / "lessons" / lesson / f"{prog}.c")
                     .read_text(encoding="utf-8"), re.M):
            assert f"--help of lessons/{lesson}/{prog}.c" in text


def test_make_builds_the_catalog_beside_the_programs():
    assert CATALOG.is_file(), f"{CATALOG} is missing: `make` builds it (mk/i18n.mk)"
    assert CATALOG.read_bytes()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")
    assert CATALOG.stat().st_mtime >= PO.stat().st_mtime, "the catalog is older than po/zh_CN.po"


def test_errno_texts_are_glibcs_english():
    """explain.c's errno table carries glibc's English (the msgid): a text
    that differs from strerror() in C would never be the one printed."""
    libc = ctypes.CDLL("libc.so.6")
    libc.strerrordesc_np.restype = ctypes.c_char_p
    src = (ROOT / "src" / "explain.c").read_text(encoding="utf-8")
    rows = re.findall(r'E\((E[A-Z]+),\s*N_\("([^"]*)"\)\)', src)
    assert len(rows) >= 30
    import errno
    wrong = [(n, t) for n, t in rows
             if libc.strerrordesc_np(getattr(errno, n)).decode() != t]
    assert not wrong, wrong


# --- which language ----------------------------------------------------------

def test_no_chinese_locale_is_generated_here_and_still_help_is_chinese():
    """The machine the issue names: `locale -a` has no zh_CN, so
    setlocale(LC_ALL, "") fails for zh_CN.UTF-8; the help is Chinese anyway."""
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    out = help_text("06-close", "server", ZH)
    assert out.startswith("用法：server "), out
    assert "第06课" in out and "监听" in out
    if "zh_CN" not in locales:
        assert "zh_CN" not in locales          # the point: it works without one


@pytest.mark.parametrize("env", [
    {"LANG": "zh_CN.UTF-8"}, {"LC_ALL": "zh_CN.UTF-8"}, {"LC_MESSAGES": "zh_CN.UTF-8"},
    {"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, {"LAB_LANG": "zh"},
    {"LANG": "C", "LAB_LANG": "zh"}, {"LC_ALL": "C", "LAB_LANG": "zh_CN"}],
    ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()))
def test_language_comes_from_the_environment(env):
    out = help_text("06-close", "client", {**NO_LANG, **env})
    assert out.startswith("用法：client "), out


@pytest.mark.parametrize("env", [
    {}, {"LANG": "C.UTF-8"}, {"LANG": "zh_CN.UTF-8", "LAB_LANG": "en"},
    {"LANG": "C", "LANGUAGE": "zh_CN"}, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"},
    {"LANG": "zh_CN.UTF-8", "LANGUAGE": "en"}],
    ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()) or "nothing set")
def test_english_is_the_default_and_lab_lang_en_forces_it(env):
    out = help_text("06-close", "server", {**NO_LANG, **env})
    assert out.startswith("usage: server "), out
    assert not CJK.search(out), out


@pytest.mark.parametrize("lesson,prog", PROGRAMS, ids=[f"{l}/{p}" for l, p in PROGRAMS])
def test_every_line_of_help_is_chinese(lesson, prog):
    out = help_text(lesson, prog, ZH)
    english = [line for line in out.splitlines() if line.strip() and not CJK.search(line)]
    assert not english, f"{lesson}/{prog} --help has English lines: {english}"
    assert f"第{lesson[:2]}课" in out, "the lesson's ABOUT text is not translated"


def test_help_in_chinese_is_utf8_even_under_an_ascii_locale():
    out = subprocess.run([program("06-close", "server"), "--help"],
                         env={**os.environ, **NO_LANG, "LANG": "C", "LAB_LANG": "zh"},
                         capture_output=True, timeout=10).stdout
    assert "用法".encode() in out and b"?" not in out.split(b"\n")[0]


def test_lab_localedir_overrides_where_the_catalog_is(tmp_path):
    out = help_text("06-close", "server", {**ZH, "LAB_LOCALEDIR": str(tmp_path)})
    assert out.startswith("usage: server "), "Chinese without a catalog?"


def test_an_installed_program_finds_share_locale(tmp_path):
    """make install's layout: PREFIX/bin/socketlab-server, PREFIX/share/locale."""
    (tmp_path / "bin").mkdir()
    mo = tmp_path / "share" / "locale" / "zh_CN" / "LC_MESSAGES"
    mo.mkdir(parents=True)
    shutil.copy(program("06-close", "server"), tmp_path / "bin" / "socketlab-server")
    shutil.copy(CATALOG, mo / "socketlab.mo")
    res = subprocess.run([tmp_path / "bin" / "socketlab-server", "--help"],
                         env={**os.environ, **ZH}, capture_output=True, text=True, timeout=10)
    assert res.stdout.startswith("用法："), res.stdout + res.stderr


# --- errors and hints in Chinese ----------------------------------------------

@pytest.mark.parametrize("port,says", [
    ("abc", "端口 'abc' 不是数字"), ("", "端口 是空的"),
    ("70000", "端口 '70000' 超出范围"), ("-1", "'-1' 是负数")])
def test_bad_port_text_is_explained_in_chinese(lab, port, says):
    r = run(lab, [program("06-close", "server"), port], ZH)
    assert r.returncode == 2, r
    lines = r.stderr.splitlines()
    assert lines[0].startswith("server: ") and says in lines[0], r
    assert lines[1].startswith("用法：server "), r
    assert lines[2] == "运行 'server --help' 了解更多。", r


@pytest.mark.parametrize("args,says", [
    ([], "缺少 HOST 和 PORT"), (["127.0.0.1"], "缺少 PORT"),
    (["--frobnicate", "h", "1"], "未知选项 '--frobnicate'"),
    (["-n"], "选项 '-n' 需要一个值"), (["-i", "0,5", "h", "1"], "'0,5' 不是秒数"),
    (["300.1.1.1", "1"], "不是合法的IPv4地址")])
def test_client_usage_errors_in_chinese(lab, args, says):
    r = run(lab, [program("06-close", "client"), *args], ZH)
    assert r.returncode == 2, r
    assert r.stderr.startswith("client: ") and says in r.stderr.splitlines()[0], r


def test_port_in_use_is_explained_in_chinese(lab):
    first = lab.server("06-close", "-q", env=EN)
    r = run(lab, [program("06-close", "server"), "-q", first.port], ZH)
    assert r.returncode == 1, r
    err = [line for line in r.stderr.splitlines() if line.startswith("server: ")]
    assert len(err) == 2, r
    assert re.match(r"^server: bind .* 失败：地址已在使用（EADDRINUSE）$", err[0]), r
    assert err[1].startswith("server: 提示：另一个程序正在监听这个端口"), r
    assert "TIME_WAIT" in err[1]


def test_connection_refused_is_explained_in_chinese(lab):
    port = free_port()
    r = run(lab, [program("06-close", "client"), "-q", "127.0.0.1", port], ZH)
    assert r.returncode == 1, r
    err = r.stderr.splitlines()
    assert re.match(rf"^client: connect .*\b{port} 失败：连接被拒绝（ECONNREFUSED）$", err[-2]), r
    assert err[-1].startswith("client: 提示：那个端口上没有程序在监听"), r
    assert not [line for line in err if not CJK.search(line)], "English lines under zh_CN"


def test_slowlink_speaks_chinese_like_the_lessons():
    """tools/slowlink's help and errors go through the same catalog."""
    slowlink = BUILD / "tools" / "slowlink"
    if not slowlink.exists():
        pytest.skip(f"{slowlink} is not built")
    r = subprocess.run([slowlink, "--help"], env={**os.environ, **ZH}, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("用法：slowlink "), r
    assert "例子：slowlink -o eth0" in r.stdout and "丢包" in r.stdout, r.stdout
    r = subprocess.run([slowlink, "delay"], env={**os.environ, **ZH}, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and r.stderr.startswith("slowlink: 'delay' 后面要跟一个时间"), r


def test_the_fault_tag_is_all_chinese_and_the_json_stays_english(lab):
    """[注入：短写], not a Chinese tag around English words; --json does not change with the locale."""
    server = lab.server("06-close", "-q", env=EN)
    r = lab.run_client("06-close", "-n", "1", "-i", "0", port=server.port,
                       env=preload_fault_env("send:short=16", ZH))
    assert r.returncode == 0, r
    tags = re.findall(r"\[注入[^\]]*\]", r.stderr)
    assert tags and set(tags) == {"[注入：短写]"}, r.stderr
    # --json is for programs: the same fault gives the same "injected" values whatever the locale.
    injected = {}
    for name, env in (("en", EN), ("zh", ZH)):
        server = lab.server("06-close", "-q", env=EN)
        r = lab.run_client("06-close", "-n", "1", "-i", "0", "--json", port=server.port,
                           env=preload_fault_env("send:short=16", env))
        injected[name] = {e["injected"] for e in json_lines(r.stderr) if e.get("injected")}
    assert injected["en"] and injected["zh"] == injected["en"], injected


def test_the_same_errors_stay_english_by_default(lab):
    port = free_port()
    r = run(lab, [program("06-close", "client"), "-q", "127.0.0.1", port], EN)
    assert r.returncode == 1
    assert re.search(rf"^client: connect .*\b{port}\b.*: Connection refused \(ECONNREFUSED\)$",
                     r.stderr, re.M), r
    assert "client: hint: nothing listens on that port" in r.stderr
    assert not CJK.search(r.stderr)


# --- argument bugs found in review (issue 11) --------------------------------

@pytest.mark.parametrize("lesson", [l for l, p in PROGRAMS if p == "server"])
@pytest.mark.parametrize("arg,name", [("--json=x", "--json"), ("--quiet=1", "--quiet"),
                                      ("--pause=yes", "--pause")])
def test_a_value_for_a_flag_is_a_clean_usage_error(lab, lesson, arg, name):
    """getopt sets optopt to the long option's value (1001 for --json):
    no isdigit() on that, and a message that names the flag."""
    r = run(lab, [program(lesson, "server"), arg, "0"], EN)
    assert r.returncode == 2, r
    assert r.stderr.splitlines()[0] == \
        f"server: option '{arg}' takes no value (give it alone: {name})", r
    assert r.stdout == ""
    zh = run(lab, [program(lesson, "server"), arg, "0"], ZH)
    assert zh.returncode == 2 and f"选项 '{arg}' 不带值" in zh.stderr, zh


@pytest.mark.parametrize("addr", ["nonsense", "1.2.3", "::g", "", "localhost"])
def test_bind_takes_only_a_numeric_address(lab, addr):
    r = run(lab, [program("06-close", "server"), "--bind", addr, "0"], EN)
    assert r.returncode == 2, r
    assert r.stderr.startswith(f"server: --bind '{addr}' is not a numeric IPv4 or IPv6 address"), r


@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
def test_bind_takes_ipv4_and_ipv6(lab, addr):
    s = lab.server("06-close", "-q", "--bind", addr, env=EN)
    assert s.port > 0 and addr in s.address, s.stdout


# --- what never changes with the language ------------------------------------

def exchange(lab, env):
    server = lab.server("06-close", "--json", env=env)
    client = lab.run_client("06-close", "--json", "-n", "2", "-i", "0.5",
                            port=server.port, env=env)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    return server, client


def test_data_lines_and_json_keys_do_not_change_under_chinese(lab):
    en_server, en_client = exchange(lab, EN)
    zh_server, zh_client = exchange(lab, ZH)
    assert re.search(r"^listening on 0\.0\.0\.0:\d+$", zh_server.stdout, re.M), zh_server.stdout
    for en, zh in ((en_server, zh_server), (en_client, zh_client)):
        en_events, zh_events = json_lines(en.stderr), json_lines(zh.stderr)
        assert en_events and len(en_events) == len(zh_events)
        assert [sorted(e) for e in en_events] == [sorted(e) for e in zh_events]
        # Every line of a --json trace is JSON, whatever the language.
        stray = [line for line in zh.stderr.splitlines() if not line.startswith("{")]
        assert not stray, stray
    strip = lambda text: re.sub(r":\d+$", ":PORT", text, flags=re.M)  # noqa: E731
    assert strip(en_client.stdout) == strip(zh_client.stdout)


# --- the trace: the seed's own words, in any program ------------------------

SEED_LABELS = {
    ("server", "create socket"): "创建服务端的socket",
    ("server", "bind address"): "把IP和端口绑定到socket上",
    ("server", "listen"): "把socket设置为监听状态",
    ("server", "accept client"): "受理客户端的连接",
    ("server", "talk"): "与客户端通信",
    ("server", "close"): "关闭socket，释放资源",
    ("client", "create socket"): "创建客户端的socket",
    ("client", "connect"): "向服务器发起连接请求",
    ("client", "talk"): "与服务端通讯",
    ("client", "close"): "关闭socket，释放资源",
}


def po_translations(text):
    """{(msgctxt or None, msgid): msgstr} of a .po text."""
    def unquote(lines):
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines or ""))
    return {(unquote(m.group(1)) or None, unquote(m.group(2))): unquote(m.group(3))
            for m in re.finditer(r'^(?:msgctxt ((?:".*"\n)+))?msgid ((?:".*"\n)+)'
                                 r'msgstr ((?:".*"\n?)+)', text, re.M)}


def test_step_labels_are_the_seeds_own_chinese():
    """The seed's comments name each step (第1步：创建服务端的socket): the
    catalog keeps exactly those words, the server's and the client's apart."""
    found = po_translations(PO.read_text(encoding="utf-8"))
    wrong = {k: found.get(k) for k, v in SEED_LABELS.items() if found.get(k) != v}
    assert not wrong, f"step labels differ from the seed's: {wrong}"


def test_the_preloaded_tracer_speaks_chinese_in_any_program(lab, tmp_path):
    """tools/trace preloads build/libsocketlab.so into a program that is not
    the kit's: it finds the catalog beside itself, without main()."""
    tool, lib = ROOT / "tools" / "trace", BUILD / "libsocketlab.so"
    if not (tool.exists() and lib.exists()):
        pytest.skip("no tools/trace or build/libsocketlab.so in this tree")
    code = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
            "s.listen(3); s.close()")
    r = run(lab, [tool, "--role", "server", "--", "/usr/bin/python3", "-c", code],
            {**ZH, "LAB_BUILD": str(BUILD)})
    assert r.returncode == 0, r
    assert re.search(r"第1步 创建服务端的socket  socket\(", r.stderr), r
    assert re.search(r"第3步 把socket设置为监听状态  listen\(\d+, 3\) = 0", r.stderr), r
    assert "内核：fd " in r.stderr
    en = run(lab, [tool, "--role", "server", "--", "/usr/bin/python3", "-c", code],
             {**EN, "LAB_BUILD": str(BUILD)})
    assert "step 1 create socket  socket(" in en.stderr and not CJK.search(en.stderr), en
