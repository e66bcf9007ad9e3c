"""The Chinese READMEs (README.zh.md beside each README.md, the student guide's
student-guide.zh.md) are kept in step with the English ones: each records the
git blob hash of the English text it translates (tools/zh-sync.py), and this
test fails when an English README changed since, has no Chinese twin, or the
two do not link to each other at their top. Also: tools/zh-sync.py's --diff,
--stamp and --init on a scratch repository, and that each twin says the same
things technically (the same code blocks, the same titles for the docs)."""
import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

from labharness import ROOT

TOOL = ROOT / "tools" / "zh-sync.py"
if not (ROOT / "grader" / "student-guide.md").exists():
    # A student's handout: its README.md is the guide, its READMEs are cut
    # (grader/handout.py); keeping the twins in step is the kit's job.
    pytest.skip("not the kit (a handout): the translations are checked in the kit",
                allow_module_level=True)
_spec = importlib.util.spec_from_file_location("zh_sync", TOOL)
zh_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zh_sync)

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*(\S*)\s*$")


def run(*args, root=None, cwd=None):
    extra = ["--root", str(root)] if root else []
    return subprocess.run([sys.executable, str(TOOL), *extra, *args], capture_output=True,
                          text=True, timeout=30, cwd=cwd or ROOT)


def git_available():
    return shutil.which("git") is not None


# --- the repository's own READMEs ----------------------------------------------

def test_every_english_readme_has_a_chinese_twin_in_step():
    """The check CI runs: fails naming the file and the command to see the change."""
    found = [p for t in zh_sync.twins(ROOT) for p in zh_sync.problems(t, ROOT)]
    assert not found, "\n".join(found)


def test_the_twins_cover_the_top_readme_each_lesson_and_the_student_guide():
    english = {t.english for t in zh_sync.twins(ROOT)}
    want = {"README.md", "grader/student-guide.md"}
    want |= {p.relative_to(ROOT).as_posix() for p in ROOT.glob("lessons/[0-9][0-9]-*/README.md")}
    assert want <= english, want - english


def test_the_hash_is_the_one_git_computes():
    """--check needs no git, but its hash must be git's (`git hash-object`)."""
    if not git_available():
        pytest.skip("git not installed")
    for t in zh_sync.twins(ROOT)[:3]:
        path = ROOT / t.english
        r = subprocess.run(["git", "hash-object", "--no-filters", str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert zh_sync.file_hash(path) == r.stdout.strip(), t.english
    assert zh_sync.blob_hash(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert zh_sync.blob_hash("中文\n".encode()) == \
        subprocess.run(["git", "hash-object", "--stdin"], input="中文\n".encode(),
                       capture_output=True).stdout.decode().strip()


# In a Chinese file, put this line right above a block whose prose is
# translated (a listing of directories with their explanations, say): that
# block is then compared by position and language only.
TRANSLATED_BLOCK = "<!-- zh-sync: translated block -->"


def fenced_blocks(text):
    """[(language, lines)] of the fenced code blocks of markdown TEXT; the
    language is None for a block marked TRANSLATED_BLOCK."""
    blocks, cur, fence, previous = [], None, None, ""
    for line in text.splitlines():
        m = FENCE.match(line)
        if cur is None and m:
            lang = None if previous.strip() == TRANSLATED_BLOCK else m.group(3)
            cur, fence = (lang, []), m.group(2)
        elif cur is not None and m and m.group(2).startswith(fence[0] * 3) and not m.group(3):
            blocks.append(cur)
            cur = None
        elif cur is not None:
            cur[1].append(line)
        if line.strip():
            previous = line
    return blocks


def without_comments(lang, lines):
    """A code block's lines without its comments (which a translation may
    translate: C, shell and Python comments, a transcript's "# terminal 1"
    lines) and blank lines: the commands, code and output that must not change."""
    text = "\n".join(lines)
    if lang in ("c", "h", "cpp", "c++"):
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)
    elif lang in ("sh", "bash", "shell", "console", "python"):
        text = re.sub(r"(^|\s)#[^\n]*", r"\1", text)
    elif lang == "text":                 # a transcript's own comments
        text = re.sub(r"(?m)^# [^\n]*|(?<=\S) +# [^\n]*", "", text)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


TWINS = zh_sync.twins(ROOT)


def require_in_step(twin):
    """Compare a twin only when it is in step (else the first test says why)."""
    if not (ROOT / twin.chinese).exists() or zh_sync.problems(twin, ROOT):
        pytest.skip(f"{twin.chinese} is not in step with {twin.english}")


@pytest.mark.parametrize("twin", TWINS, ids=[t.chinese for t in TWINS])
def test_a_twin_in_step_has_the_same_code_blocks(twin):
    """Technically the same: every command, code line and quoted output of the
    English file is in the Chinese one, in the same order (comments in C,
    shell and Python blocks and a transcript's comment lines may be translated)."""
    require_in_step(twin)
    en = fenced_blocks((ROOT / twin.english).read_text(encoding="utf-8"))
    zh = fenced_blocks((ROOT / twin.chinese).read_text(encoding="utf-8"))
    assert len(zh) == len(en), "not as many code blocks as the English"
    for i, ((lang, e), (zh_lang, z)) in enumerate(zip(en, zh)):
        if zh_lang is None:                  # marked as translated
            continue
        assert zh_lang == lang, f"{twin.chinese}: code block {i + 1} is {zh_lang}, not {lang}"
        assert without_comments(lang, z) == without_comments(lang, e), \
            f"{twin.chinese}: code block {i + 1} ({lang}) differs from {twin.english}'s"


@pytest.mark.parametrize("twin", TWINS, ids=[t.chinese for t in TWINS])
def test_a_twin_keeps_the_english_structure_for_the_docs(twin):
    """docs/lesson-pages.py reads the title on the first line; the generated
    output blocks, <details> answers and the handout's <!-- if --> parts are
    all there; no Doxygen markup in the source."""
    require_in_step(twin)
    en = (ROOT / twin.english).read_text(encoding="utf-8")
    zh = (ROOT / twin.chinese).read_text(encoding="utf-8")
    en_first, zh_first = en.partition("\n")[0], zh.partition("\n")[0]
    assert zh_first.startswith("# ") == en_first.startswith("# ")
    m = re.match(r"# Lesson (\d+):", en_first)
    if m:
        assert re.match(rf"# 第{m.group(1)}课：\S", zh_first), zh_first
        lesson_pages = ROOT / "docs" / "lesson-pages.py"
        if lesson_pages.exists():
            title = re.search(r'^TITLE = re.compile\((r".*")\)$',
                              lesson_pages.read_text(encoding="utf-8"), re.M)
            if title:
                assert re.match(eval(title.group(1)), zh_first), zh_first
    for pattern in (r"<!-- output: [\w.-]+ -->", r"<!-- end output -->", r"<details>",
                    r"</details>", r"<!-- if \S+ -->", r"<!-- end if -->"):
        assert len(re.findall(pattern, zh)) == len(re.findall(pattern, en)), pattern
    assert not re.search(r"\{#\w+\}|[\\@](?:ref|page|section)\b", zh)


# --- the tool, on a scratch copy ------------------------------------------------

EN = "# Lesson 01: socket\n\nSome text.\n\n```sh\nmake\n```\n"
ZH = "# 第01课：socket\n\n一些文字。\n\n```sh\nmake\n```\n"


@pytest.fixture
def kit(tmp_path):
    """A scratch repository with the top README and one lesson, in step."""
    root = tmp_path / "kit"
    (root / "lessons" / "01-socket").mkdir(parents=True)
    for d in (root, root / "lessons" / "01-socket"):
        (d / "README.md").write_text(EN, encoding="utf-8")
        r = run("--init", str(d / "README.md"), root=root)
        assert r.returncode == 0, r.stderr
        zh = d / "README.zh.md"
        text = zh.read_text(encoding="utf-8")
        zh.write_text(text.replace("Some text.", "一些文字。"), encoding="utf-8")
    if git_available():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def git_commit(root, msg="x"):
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", msg], check=True)


def test_init_links_both_files_and_the_check_wants_a_stamp(kit):
    en = (kit / "README.md").read_text(encoding="utf-8")
    zh = (kit / "README.zh.md").read_text(encoding="utf-8")
    assert en.splitlines()[:3] == ["# Lesson 01: socket", "", "中文: [README.zh.md](README.zh.md)"]
    assert zh.splitlines()[0] == "# Lesson 01: socket"            # title stays first
    assert "<!-- zh-sync: source=README.md blob=none -->" in zh.splitlines()[:4]
    assert "English: [README.md](README.md)" in zh.splitlines()[:5]
    r = run("--check", root=kit)
    assert r.returncode == 1
    assert "README.zh.md: not translated yet" in r.stdout
    assert "tools/zh-sync.py --stamp lessons/01-socket/README.md" in r.stdout
    r = run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    assert r.returncode == 0, r.stderr
    r = run("--check", root=kit)
    assert (r.returncode, r.stdout) == (0, "")
    blob = zh_sync.file_hash(kit / "README.md")
    assert f"blob={blob}" in (kit / "README.zh.md").read_text(encoding="utf-8")


def test_a_changed_english_readme_fails_the_check_until_restamped(kit):
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    lesson = kit / "lessons" / "01-socket" / "README.md"
    old = zh_sync.file_hash(lesson)
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("Some text.", "Other text."),
                      encoding="utf-8")
    new = zh_sync.file_hash(lesson)
    r = run("--check", root=kit)
    assert r.returncode == 1
    assert ("lessons/01-socket/README.md changed since lessons/01-socket/README.zh.md "
            "was translated") in r.stdout
    assert "tools/zh-sync.py --diff lessons/01-socket/README.md" in r.stdout
    assert f"git diff {old} {new}" in r.stdout
    assert "README.md changed" not in r.stdout.replace("01-socket/README.md changed", "")
    assert run("--stamp", str(lesson.parent / "README.zh.md"), root=kit).returncode == 0
    assert run("--check", root=kit).returncode == 0


def test_missing_twin_and_missing_links_fail_the_check(kit):
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    (kit / "lessons" / "02-bind").mkdir()
    (kit / "lessons" / "02-bind" / "README.md").write_text("# Lesson 02: bind\n", encoding="utf-8")
    top = kit / "README.md"
    top.write_text(EN, encoding="utf-8")                 # the 中文 link gone
    zh = kit / "lessons" / "01-socket" / "README.zh.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace("English: [README.md](README.md)\n", ""),
                  encoding="utf-8")
    r = run("--check", root=kit)
    assert r.returncode == 1
    assert "lessons/02-bind/README.md has no Chinese version lessons/02-bind/README.zh.md" in r.stdout
    assert "README.md: no link to the Chinese version at its top" in r.stdout
    assert "lessons/01-socket/README.zh.md: no link to the English version" in r.stdout
    assert "lessons/01-socket/README.md changed" not in r.stdout


@pytest.mark.skipif(not git_available(), reason="git not installed")
def test_diff_shows_the_english_changes_since_the_translation(kit):
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    git_commit(kit)
    top = kit / "README.md"
    top.write_text(top.read_text(encoding="utf-8").replace("Some text.", "New words."),
                   encoding="utf-8")
    for name in ("README.md", "README.zh.md", str(top)):
        r = run("--diff", name, root=kit)
        assert r.returncode == 0, r.stderr
        assert "-Some text.\n" in r.stdout and "+New words.\n" in r.stdout, r.stdout
    r = run("--diff", "lessons/01-socket/README.md", root=kit)
    assert r.returncode == 0 and "unchanged since" in r.stdout
    r = run("--diff", "README.md", "--word-diff", root=kit)
    assert "[-Some text.-]{+New words.+}" in r.stdout, r.stdout


def test_diff_says_when_git_lacks_the_translated_version(kit):
    run("--stamp", "README.md", root=kit)                 # stamped, never committed
    top = kit / "README.md"
    top.write_text(top.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    r = run("--diff", "README.md", root=kit)
    assert r.returncode == 1
    assert "git log -p -- README.md" in r.stderr, f"says where to look instead\n{r.stderr}"


def test_usage_errors_exit_2(kit):
    r = run("--diff", "nothing.txt", root=kit)
    assert r.returncode == 2 and "not an English README" in r.stderr
    r = run("--bogus", root=kit)
    assert r.returncode == 2
    r = run("--word-diff", root=kit)
    assert r.returncode == 2


def test_student_guide_twin_links_use_the_handout_names(tmp_path):
    """The guide is the handout's README.md and its twin the handout's README.zh.md."""
    root = tmp_path / "kit"
    guide = root / "grader" / "student-guide.md"
    guide.parent.mkdir(parents=True)
    guide.write_text("# Guide\n\nText.\n", encoding="utf-8")
    (root / "README.md").write_text("# Top\n", encoding="utf-8")
    assert run("--init", str(guide), "README.md", root=root).returncode == 0
    assert "中文: [README.zh.md](README.zh.md)" in guide.read_text(encoding="utf-8")
    zh = (root / "grader" / "student-guide.zh.md").read_text(encoding="utf-8")
    assert "English: [README.md](README.md)" in zh
    assert "source=grader/student-guide.md" in zh


def test_any_other_translated_file_is_kept_in_step_too(kit):
    """src/interpose/README.zh.md, say: found by its header, checked like the rest."""
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    (kit / "src" / "interpose").mkdir(parents=True)
    en = kit / "src" / "interpose" / "README.md"
    en.write_text("# The interposer\n\nText.\n", encoding="utf-8")
    r = run("--init", "src/interpose/README.md", root=kit)
    assert r.returncode == 0, r.stderr
    assert "src/interpose/README.zh.md: not translated yet" in run("--check", root=kit).stdout
    assert run("--stamp", "src/interpose/README.md", root=kit).returncode == 0
    assert run("--check", root=kit).returncode == 0
    en.write_text("# The interposer\n\nNew text.\n中文: [README.zh.md](README.zh.md)\n",
                  encoding="utf-8")
    r = run("--check", root=kit)
    assert r.returncode == 1 and "src/interpose/README.md changed since src/interpose/README.zh.md" in r.stdout


@pytest.mark.parametrize("twin", TWINS, ids=[t.chinese for t in TWINS])
def test_chinese_text_marks_emphasis_with_html(twin):
    """Doxygen 1.9.4 takes **bold** and *emphasis* only between spaces or
    ASCII punctuation, so beside Chinese characters it shows the stars as
    text (and CommonMark does too beside full-width punctuation): the
    Chinese files use <b>...</b> and <em>...</em>."""
    path = ROOT / twin.chinese
    if not path.exists():
        pytest.skip(f"{twin.chinese} does not exist")
    bad, in_fence = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        text = re.sub(r"`+[^`]*`+|<!--.*?-->", "", line)
        if not in_fence and re.search(r"\*\*|\*[^\s*][^*]*\*", text):
            bad.append(f"{twin.chinese}:{number}: {line.strip()[:70]}")
    assert not bad, "use <b>/<em>, not ** or *, in Chinese text:\n" + "\n".join(bad)


def test_copy_output_brings_the_generated_blocks_along(kit):
    block = "<!-- output: 01-server -->\n```text\n$ server 0\nold\n```\n<!-- end output -->\n"
    lesson = kit / "lessons" / "01-socket"
    for name, prose in (("README.md", "Output:"), ("README.zh.md", "输出：")):
        path = lesson / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n{prose}\n\n{block}",
                        encoding="utf-8")
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    en = lesson / "README.md"
    en.write_text(en.read_text(encoding="utf-8").replace("old\n", "new\n"), encoding="utf-8")
    r = run("--copy-output", "lessons/01-socket/README.md", root=kit)
    assert r.returncode == 0, r.stderr
    zh = (lesson / "README.zh.md").read_text(encoding="utf-8")
    assert "$ server 0\nnew\n```" in zh and "输出：" in zh
    assert run("--check", root=kit).returncode == 1        # still to be stamped


def test_copy_output_keeps_the_translated_comment_lines(kit):
    lesson = kit / "lessons" / "01-socket"
    en_block = ("<!-- output: 01-two -->\n```text\n# terminal 1\n$ server 0\nold\n"
                "# terminal 2: a client\n```\n<!-- end output -->\n")
    zh_block = en_block.replace("# terminal 1", "# 终端1").replace("# terminal 2: a client",
                                                                 "# 终端2：一个客户端")
    for name, block in (("README.md", en_block), ("README.zh.md", zh_block)):
        path = lesson / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + block, encoding="utf-8")
    en = lesson / "README.md"
    en.write_text(en.read_text(encoding="utf-8").replace("old\n", "new\n"), encoding="utf-8")
    assert run("--copy-output", str(en), root=kit).returncode == 0
    zh = (lesson / "README.zh.md").read_text(encoding="utf-8")
    assert "# 终端1\n$ server 0\nnew\n# 终端2：一个客户端\n```" in zh, zh
    en.write_text(en.read_text(encoding="utf-8").replace("new\n", "new\n# terminal 3\n"),
                  encoding="utf-8")
    run("--copy-output", str(en), root=kit)        # a comment more: English, to translate
    zh = (lesson / "README.zh.md").read_text(encoding="utf-8")
    assert "# terminal 1\n$ server 0\nnew\n# terminal 3\n# terminal 2: a client\n" in zh, zh


def test_stamp_expect_refuses_an_english_file_changed_since_the_diff(kit):
    run("--stamp", "README.md", "lessons/01-socket/README.md", root=kit)
    top = kit / "README.md"
    top.write_text(top.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    seen = zh_sync.file_hash(top)
    top.write_text(top.read_text(encoding="utf-8") + "Even more.\n", encoding="utf-8")
    r = run("--stamp", "README.md", "--expect", seen[:12], root=kit)
    assert r.returncode == 1 and "README.md" in r.stderr, r.stderr
    assert run("--check", root=kit).returncode == 1
    r = run("--stamp", "README.md", "--expect", zh_sync.file_hash(top)[:12], root=kit)
    assert r.returncode == 0, r.stderr
    assert run("--check", root=kit).returncode == 0
