"""One Chinese word per term (docs/glossary.zh.md): every Chinese text of the
kit (the Chinese READMEs and pages, the Chinese lines of the English ones, the
Chinese site's words, comments and strings in the sources) and every msgstr of
po/zh_CN.po uses the glossary's word, never a variant it lists, except in a
quotation: a `code span`, a step label the trace prints in the tutorial's own
words, a line of the tutorial's code (tests/seed/), or a word in Chinese
quotes (“受理”) that the tutorial itself uses. Also: each Chinese page
introduces "socket（套接字）" at its first socket, and the catalog's Chinese
uses full-width punctuation next to Chinese characters."""
import os
import re
from pathlib import Path

import pytest

from labharness import ROOT

GLOSSARY = ROOT / "docs" / "glossary.zh.md"
PO = ROOT / "po" / "zh_CN.po"
SEED = ROOT / "tests" / "seed"
CJK = re.compile(r"[\u4e00-\u9fff]")
FENCE = re.compile(r"^\s*(```|~~~)")
# Not the kit's own texts: the tests (which quote wrong words on purpose),
# fuzzing corpora, build trees.
SKIP_DIRS = {".git", "build", "node_modules", "__pycache__", "tests", "corpus"}
TEXT_SUFFIXES = {".md", ".c", ".h", ".py", ".po", ".html", ".mk", ".sh", ".yaml", ".dox", ".zh", ""}

if not GLOSSARY.exists():
    pytest.skip("no docs/glossary.zh.md in this tree", allow_module_level=True)


def glossary():
    """({variant: the glossary's word}, [the tutorial's words quoted in the texts])."""
    text = GLOSSARY.read_text(encoding="utf-8")
    variants = {}
    table = text.split("\n## 术语", 1)[1].split("\n## ", 1)[0]
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "English" or not cells[0].strip("-: "):
            continue
        for variant in filter(None, re.split(r"[、,，]\s*", cells[2])):
            variants[variant] = cells[1]
    quoted = text.split("\n## 原教程的原话", 1)[1].split("\n## ", 1)[0]
    words = [w for w in re.findall(r"`([^`]+)`", quoted) if CJK.search(w)]
    return variants, words


VARIANTS, TUTORIAL_WORDS = glossary()


def po_entries(text):
    """[(msgctxt or None, msgid, msgstr, line number of the msgstr)] of a .po text."""
    def unquote(lines):
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines or "")).replace("\\n", "\n")
    out = []
    for m in re.finditer(r'^(?:msgctxt ((?:".*"\n)+))?msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)',
                         text, re.M):
        line = text.count("\n", 0, m.start(3)) + 1
        out.append((unquote(m.group(1)) or None, unquote(m.group(2)), unquote(m.group(3)), line))
    return out


def step_labels():
    """The trace's step labels: the tutorial's own words (test_i18n checks them)."""
    return sorted({s for ctx, _, s, _ in po_entries(PO.read_text(encoding="utf-8"))
                   if ctx in ("server", "client") and s}, key=len, reverse=True)


def seed_text():
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(SEED.glob("*.cpp"))) if SEED.is_dir() else ""


SEED_TEXT = seed_text()
SEED_LINES = {line.strip() for line in SEED_TEXT.splitlines() if CJK.search(line)}
LABELS = step_labels()


def without_quotations(line):
    """LINE without what it quotes: code spans, step labels, the tutorial's
    words in Chinese quotes, the tutorial's words the glossary lists."""
    line = re.sub(r"`[^`]*`", " ", line).replace("socket（套接字）", " ")
    for word in LABELS + TUTORIAL_WORDS:
        line = line.replace(word, " ")
    return re.sub(r"“([^”]*)”", lambda m: " " if m.group(1) in SEED_TEXT else m.group(0), line)


def kit_files():
    """Every text file of the kit that is not a test (walked, no git needed)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            path = Path(dirpath) / f
            if path.suffix in TEXT_SUFFIXES and path != GLOSSARY and path != PO:
                found.append(path)
    return found


def chinese_lines(path):
    """(number, line) of each line of PATH that a reader sees as Chinese text
    (the tutorial's code lines, inside code blocks, left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if path.suffix == ".md" and FENCE.match(line):
            in_fence = not in_fence
            continue
        if not CJK.search(line) or line.strip() in SEED_LINES:
            continue
        parts = [p for p in re.split(r"\s{2,}|\s+(?=\()", line.strip()) if CJK.search(p)]
        if in_fence and all(p.strip() in SEED_TEXT for p in parts):
            continue
        yield number, line


def variants_in(text):
    return [(v, VARIANTS[v]) for v in VARIANTS if v in text]


def test_the_glossary_lists_the_issues_terms():
    """The variants the issue names, each with its one word."""
    want = {"受理": "接受", "边缘触发": "边沿触发", "回应": "回复", "应答": "回复",
            "对方": "对端", "协议族": "地址族", "通讯": "通信", "服务端": "服务器",
            "反压": "背压", "套接字": "socket"}
    assert {v: VARIANTS.get(v) for v in want} == want
    assert "受理客户端的连接" in LABELS and "与服务端通讯" in LABELS, LABELS
    assert any("正好读" in v for v in VARIANTS), "one wording for the read-exactly loop"


def test_no_text_uses_a_variant_outside_a_quotation():
    bad = []
    for path in kit_files():
        for number, line in chinese_lines(path):
            for variant, word in variants_in(without_quotations(line)):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {variant} -> {word}: "
                           f"{line.strip()[:80]}")
    assert not bad, "docs/glossary.zh.md says otherwise:\n" + "\n".join(bad)


def test_the_catalog_uses_the_glossarys_words():
    bad = []
    for ctx, msgid, msgstr, line in po_entries(PO.read_text(encoding="utf-8")):
        for variant, word in variants_in(without_quotations(msgstr)):
            bad.append(f"po/zh_CN.po:{line}: {variant} -> {word}: {msgid[:60]!r}")
    assert not bad, "docs/glossary.zh.md says otherwise:\n" + "\n".join(bad)


def seed_comments():
    """{code: its Chinese comment} of the tutorial's lines, and its comment-only lines."""
    by_code, alone = {}, []
    for line in SEED_TEXT.splitlines():
        code, sep, comment = line.partition("//")
        if sep and CJK.search(comment):
            if code.strip():
                by_code[code.strip()] = "//" + comment.rstrip()
            else:
                alone.append("//" + comment.rstrip())
    return by_code, alone


def comment_key(comment):
    """What finds a comment-only line among the tutorial's: its step (第4步), else its first words."""
    comment = comment.strip()
    return (re.match(r"第\d+步", comment) or re.match(".{0,6}", comment)).group()


def test_the_tutorials_code_is_quoted_word_for_word():
    """A code line of a text that is the tutorial's keeps its comment as the
    tutorial wrote it (服务端, 通讯 and all); the text may add a note after it."""
    if not SEED_TEXT:
        pytest.skip("no tests/seed/ in this tree")
    by_code, alone = seed_comments()
    bad = []
    for path in kit_files():
        if path.suffix != ".md":
            continue
        in_fence = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FENCE.match(line):
                in_fence = not in_fence
            code, sep, comment = line.partition("//")
            if not (in_fence and sep and CJK.search(comment)):
                continue
            said = "//" + comment.rstrip()
            if code.strip():
                quoted = [by_code[code.strip()]] if code.strip() in by_code else []
            else:                           # "// 第4步：..." by its step, else its first words
                quoted = [c for c in alone if comment_key(c[2:]) == comment_key(comment)]
            if quoted and not any(said.startswith(q.strip()) for q in quoted):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:70]}\n"
                           f"    the tutorial: {' or '.join(q.strip() for q in quoted)}")
    assert not bad, "not the tutorial's words:\n" + "\n".join(bad)


# ASCII punctuation touching a Chinese character (outside quoted input '...').
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff][,:;?!()]|[,:;?!(][\u4e00-\u9fff]|\)[\u4e00-\u9fff]")


def test_the_catalogs_chinese_has_full_width_punctuation():
    """One style: 失败：连接被拒绝（ECONNREFUSED）, not 失败: 连接被拒绝 (...)."""
    bad = []
    for ctx, msgid, msgstr, line in po_entries(PO.read_text(encoding="utf-8")):
        # Quoted input, code spans, calls (poll()) and addresses (::) are code.
        text = re.sub(r"'[^']*'|`[^`]*`|\w*\(\)|::", "", msgstr)
        if HALF_WIDTH.search(text):
            bad.append(f"po/zh_CN.po:{line}: {msgstr[:70]!r}")
    assert not bad, "half-width punctuation in Chinese text:\n" + "\n".join(bad)


def chinese_pages():
    pages = [p for p in kit_files() if p.name.endswith(".zh.md")]
    return pages + sorted((ROOT / "docs" / "zh").glob("*.md"))


@pytest.mark.parametrize("page", chinese_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_chinese_page_introduces_socket_with_its_chinese_name(page):
    """The first socket of the page's prose reads socket（套接字）; 套接字 appears nowhere else."""
    first, in_fence = None, False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
        if in_fence or FENCE.match(line) or line.startswith("#") or "<!--" in line:
            continue
        # Code, links (their words are other pages' titles) and addresses are not prose.
        prose = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)|https?://\S+", " ", line)
        m = re.search(r"(?<![A-Za-z0-9_./-])socket(?![A-Za-z0-9_(./-])", prose)
        if m:
            first = (number, prose[m.end():m.end() + 5])
            break
    if first is None:
        pytest.skip(f"{page.name} never says socket in its prose")
    assert first[1].startswith("（套接字）"), \
        f"{page.relative_to(ROOT)}:{first[0]}: write socket（套接字） at the first socket"
