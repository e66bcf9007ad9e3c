# test_docs.py - the Doxygen site: `make docs` builds it with no warning,
# every lesson has a page with its sequence diagram, every public name in
# include/ is in the API pages, no internal link is broken, and Chromium
# renders the main page and a lesson page as something other than a blank.
# The Chinese site (html/zh/) too: built from the README.zh.md files (the
# English text under a note until one exists), every page of both sites
# links to the other language, and Chinese text renders with a CJK font
# (no boxes).
#
# Needs doxygen and graphviz (and chromium for the rendering tests); without
# them the tests skip, except under CI=true where a missing tool fails.
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(d for d in (ROOT / "lessons").iterdir()
                 if d.is_dir() and re.match(r"^\d\d-", d.name))
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(tool, package):
    """Skip when TOOL is missing, but fail under CI, which must install it."""
    if shutil.which(tool):
        return
    msg = f"{tool} is not installed (apt-get install {package})"
    if IN_CI:
        pytest.fail(msg + "; CI=true, so .ci/run must install it")
    pytest.skip(msg)


sys.path.insert(0, str(ROOT / "docs"))
import msc  # noqa: E402  (docs/msc.py: the Chinese site's sequence charts)

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("lesson", LESSONS, ids=[d.name for d in LESSONS])
def test_chinese_chart_has_the_english_charts_arcs_in_chinese(lesson):
    """docs/diagrams/zh/lesson_NN.msc is the English chart with its labels in
    Chinese: the same entities, arcs and boxes in the same order; Chinese names
    for the programs and kernels; the calls and states as the English has them."""
    num = lesson.name[:2]
    en = msc.parse((ROOT / "docs" / "diagrams" / f"lesson_{num}.md").read_text(encoding="utf-8"))
    zh_file = ROOT / "docs" / "diagrams" / "zh" / f"lesson_{num}.msc"
    assert zh_file.exists(), f"lesson {num}'s chart has no Chinese twin"
    zh = msc.parse(zh_file.read_text(encoding="utf-8"))
    assert [e for e, _ in zh["entities"]] == [e for e, _ in en["entities"]]
    assert [r[:3] for r in zh["rows"]] == [r[:3] for r in en["rows"]]
    assert zh["hscale"] == en["hscale"]
    assert HAN.search(zh["caption"]) and all(HAN.search(label) for _, label in zh["entities"])
    for (kind, a, b, en_label), (_, _, _, zh_label) in zip(en["rows"], zh["rows"]):
        # What the kernel calls things stays: calls, states, flags.
        for word in re.findall(r"\b(?:[a-z_0-9]+\(|[A-Z][A-Z_0-9]{2,})", en_label):
            assert word in zh_label, f"{num}: {word!r} of {en_label!r} is missing in {zh_label!r}"
    drawn = msc.svg(zh_file.read_text(encoding="utf-8"))
    assert drawn.count("<text") == len(zh["entities"]) + sum(1 for r in zh["rows"] if r[3])


def test_every_english_chart_can_be_drawn_as_svg_too():
    for chart in sorted((ROOT / "docs" / "diagrams").glob("lesson_*.md")):
        parsed = msc.parse(chart.read_text(encoding="utf-8"))
        assert parsed["entities"] and parsed["rows"], chart.name
        assert "<svg" in msc.svg(chart.read_text(encoding="utf-8"))
    with pytest.raises(msc.MscError):
        msc.parse('\\msc\na, b;\na=>c [label="x"];\n\\endmsc')


def test_chinese_overview_has_the_english_graphs_nodes_and_edges():
    def shape(text):
        return (re.findall(r"^\s*(\w+) \[label=", text, re.M),
                re.findall(r"(\w+)\s*->\s*(?=(\w+))", text))
    en = (ROOT / "docs" / "diagrams" / "overview.md").read_text(encoding="utf-8")
    zh = (ROOT / "docs" / "diagrams" / "zh" / "overview.dot").read_text(encoding="utf-8")
    assert shape(zh) == shape(en)
    labels = re.findall(r'label="([^"]*)"', zh)
    assert sum(1 for l in labels if HAN.search(l)) >= len(labels) - 2   # '"ok"' stays as it is


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`make docs` into a private directory; (result, html dir)."""
    need("doxygen", "doxygen")
    need("dot", "graphviz")
    out = tmp_path_factory.mktemp("docs")
    # A make of its own: not the jobserver or variables of a `make test` above.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    res = subprocess.run(["make", "--no-print-directory", "docs", f"DOCS_DIR={out}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return res, out / "html"


@pytest.fixture(scope="module")
def html(site):
    """The built site's html/ directory; fails at once if `make docs` failed."""
    res, path = site
    if res.returncode != 0:
        pytest.fail("make docs failed:\n" + (res.stdout + res.stderr)[-3000:])
    return path


def html_of(site_dir, name):
    path = site_dir / name
    assert path.is_file(), f"{name} is missing from the site"
    return path.read_text(encoding="utf-8")


class Links(HTMLParser):
    """Every href/src and every id/name anchor of one HTML page."""

    def __init__(self):
        super().__init__()
        self.refs, self.anchors = [], set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.refs.append((tag, key, value))
            if key in ("id", "name") and value:
                self.anchors.add(value)


def parse_links(path):
    p = Links()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def public_names():
    """Functions, macros and types that include/*.h declare: {kind: {name: header}}."""
    names = {"function": {}, "macro": {}, "type": {}}
    for h in sorted((ROOT / "include").glob("*.h")):
        text = h.read_text(encoding="utf-8")
        code = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)", code, re.M):
            if not m.group(1).endswith("_H"):            # include guards
                names["macro"][m.group(1)] = h.name
        body = re.sub(r"^\s*#.*$", " ", code, flags=re.M)
        body = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", body, flags=re.S)
        for m in re.finditer(r"\b(?:struct|enum|union)\s+(\w+)\s*\{", body):
            names["type"][m.group(1)] = h.name
        for m in re.finditer(r"typedef[^;{]*?(\w+)\s*;", body):
            names["type"][m.group(1)] = h.name
        body = re.sub(r"\{[^{}]*\}", " ", body)          # struct/enum bodies
        for stmt in body.split(";"):
            m = re.match(r"\s*(?:extern\s+)?[\w\s\*]*?\b(\w+)\s*\(", stmt)
            if m and not stmt.lstrip().startswith("typedef"):
                names["function"][m.group(1)] = h.name
    return names


def test_make_docs_builds_the_site_with_no_warning(site):
    res, html = site
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert not re.search(r"warning|error", out, re.I), out
    assert f"open {html}/index.html" in res.stdout
    assert (html / "index.html").is_file()


def test_doxyfile_fails_on_warnings_and_undocumented_parameters():
    conf = (ROOT / "docs" / "Doxyfile").read_text()
    for setting in ("WARN_AS_ERROR\\s*=\\s*FAIL_ON_WARNINGS", "WARN_NO_PARAMDOC\\s*=\\s*YES",
                    "EXTRACT_ALL\\s*=\\s*NO", "SOURCE_BROWSER\\s*=\\s*YES",
                    "STRIP_CODE_COMMENTS\\s*=\\s*NO"):
        assert re.search(r"^" + setting + r"\s*$", conf, re.M), setting


@pytest.mark.parametrize("lesson", LESSONS, ids=[d.name for d in LESSONS])
def test_each_lesson_has_a_page_with_its_sequence_diagram(html, lesson):
    num = lesson.name[:2]
    page = html_of(html, f"lesson_{num}.html")
    assert re.search(rf"<div class=\"title\">Lesson {num}: ", page)
    images = re.findall(r'<img src="(msc_inline_mscgraph_\d+\.png)"', page)
    assert images, f"lesson {num} has no \\msc diagram"
    for img in images:
        data = (html / img).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000, img
    readme = lesson / "README.md"
    if readme.exists():
        title = readme.read_text(encoding="utf-8").partition("\n")[0]
        words = re.sub(r"^#\s*Lesson\s+\d+\s*[:.-]\s*", "", title).strip()
        assert words.split()[0] in page, "the page does not carry the README's title"


# A README's own "Previous: ... · Next: ..." line: the page has its own instead.
README_NAV = re.compile(r"^\s*(?:Previous|上一课)\s*[:：]")


def nav_lines(path):
    """The lines of a page's text that link to the lessons before and after it."""
    return [l.strip() for l in page_text(path).splitlines()
            if re.search(r"(?:Contents|目录) \||\| (?:Contents|目录)", l)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_pages_link_previous_and_next_in_order(html, lang):
    """One line of links to the previous lesson, the contents and the next one,
    at the top and again at the bottom: not the README's own line beside it."""
    site = html if lang == "en" else html / "zh"
    nums = [d.name[:2] for d in LESSONS]
    for i, num in enumerate(nums):
        page = html_of(site, f"lesson_{num}.html")
        if i > 0:
            assert f'href="lesson_{nums[i - 1]}.html"' in page, f"{num}: no previous"
        if i + 1 < len(nums):
            assert f'href="lesson_{nums[i + 1]}.html"' in page, f"{num}: no next"
        else:
            assert 'href="api.html"' in page, f"{num}: no link on to the support library"
        for prog in sorted(LESSONS[i].glob("*.c")):
            ex = f"{LESSONS[i].name}_2{prog.stem}_8c-example.html"
            assert f'href="{ex}"' in page, f"{num}: no link to its {prog.name}"
        navs = nav_lines(site / f"lesson_{num}.html")
        assert len(navs) == 2 and navs[0] == navs[1], f"{lang} {num}: {navs}"
        text = page_text(site / f"lesson_{num}.html")
        assert not [l for l in text.splitlines() if README_NAV.match(l)], \
            f"{lang} {num}: the README's own previous/next line is on the page too"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_support_library_page_links_back_to_the_last_lesson(html, lang):
    site = html if lang == "en" else html / "zh"
    last = LESSONS[-1].name[:2]
    navs = nav_lines(site / "api.html")
    assert len(navs) == 1 and navs[0].startswith("\u2190"), navs
    back = re.search(r'<a class="el" href="(lesson_\d\d)\.html">\u2190|'
                     r'<a class="el" href="(lesson_\d\d)\.html">&larr;', html_of(site, "api.html"))
    assert back and (back.group(1) or back.group(2)) == f"lesson_{last}", navs


def test_lesson_programs_are_browsable_with_their_comments(html):
    for lesson in LESSONS:
        for prog in lesson.glob("*.c"):
            page = html_of(html, f"{lesson.name}_2{prog.stem}_8c-example.html")
            text = re.sub(r"<[^>]+>", "", page)
            # The "Step 1:" comment of the source, kept in the listing.
            assert re.search(r"Step 1\b", text), f"{lesson.name}/{prog.name}: comments stripped"
            assert "socket" in text


def test_lesson_pages_show_no_raw_markdown_or_doxygen_markup(html):
    """What Doxygen did not understand shows up as text: **, `, ](, {#, \\cmd."""
    for name in ["index.html"] + [f"lesson_{d.name[:2]}.html" for d in LESSONS]:
        page = html_of(html, name)
        page = re.sub(r'<div class="fragment">.*?<!-- fragment -->|<code>.*?</code>'
                      r'|<pre.*?</pre>|<script.*?</script>', " ", page, flags=re.S)
        text = unescape(re.sub(r"<[^>]+>", " ", page))
        raw = re.findall(r".{0,30}(?:\*\*|`|\]\(|\{#|\\[a-z]+\b|<tt>).{0,30}", text)
        assert not raw, f"{name} shows markup as text: {raw[:5]}"


def alnum(text):
    """Only the letters and digits of TEXT: markup and spacing do not count."""
    return "".join(c for c in text if c.isalnum())


# A README's link to its twin (tools/zh-sync.py): the page words it its own way.
TWIN_LINK = re.compile(r"^(?:English|中文): \[README(?:\.zh)?\.md\]")


def test_pages_keep_every_line_of_their_readme(html):
    """No words lost in conversion: each line of prose of a README (links as
    their text) is on its page, compared on letters and digits only."""
    pairs = [(ROOT / "README.md", "index.html")]
    pairs += [(d / "README.md", f"lesson_{d.name[:2]}.html") for d in LESSONS]
    for readme, name in pairs:
        if not readme.exists():
            continue
        page = re.sub(r"<script.*?</script>", " ", html_of(html, name), flags=re.S)
        shown = alnum(unescape(re.sub(r"<[^>]+>", "", page)))
        lost, in_fence = [], False
        for number, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(```|~~~)", line):
                in_fence = not in_fence
                continue
            if README_NAV.match(line):
                continue                # the page links to the lessons its own way
            words = re.sub(r"^\s*(?:[-*+>]|\d+[.)]|#+)\s+", "", line)   # list, heading
            words = re.sub(r"!?\[([^\]]*)\]\([^)]*\)|<!--.*?-->", r"\1", words)
            words = re.sub(r"</?(?:a|b|br|code|em|i|kbd|p|span|strong|sub|sup|tt|"
                           r"details|summary)\b[^>]*>", "", words)
            words = alnum(unescape(words))
            if not in_fence and len(words) >= 12 and words not in shown and \
                    not TWIN_LINK.match(line):
                lost.append(f"{readme.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
        assert not lost, f"{name} lost lines of its README:\n" + "\n".join(lost[:10])


def test_readmes_stay_plain_markdown_for_a_git_forge():
    """The sources carry no Doxygen commands: the labels, diagrams and links
    are added by docs/lesson-pages.py, so GitHub shows no noise."""
    readmes = [ROOT / "README.md", ROOT / "README.zh.md"]
    readmes += [d / name for d in LESSONS for name in ("README.md", "README.zh.md")]
    for readme in (r for r in readmes if r.exists()):
        text = re.sub(r"^\s*```.*?^\s*```", "", readme.read_text(encoding="utf-8"),
                      flags=re.S | re.M)
        text = re.sub(r"`[^`\n]*`", "", text)
        found = re.findall(r"[\\@](?:ref|msc|dot|page|subpage|section|brief|example)\b|\{#\w+\}",
                           text)
        assert not found, f"{readme.relative_to(ROOT)}: Doxygen markup {found}"


def test_main_page_has_the_steps_diagram_and_every_lesson(html):
    page = html_of(html, "index.html")
    imgs = re.findall(r'<img src="(dot_inline_dotgraph_\d+\.png)"', page)
    assert imgs, "the main page has no \\dot diagram of the steps"
    assert (html / imgs[0]).stat().st_size > 1000
    assert "<pre" not in page.split("The steps, server and client")[1][:2000]
    for lesson in LESSONS:
        assert f'href="lesson_{lesson.name[:2]}.html"' in page
    assert 'href="api.html"' in page
    if (ROOT / "README.md").exists():
        first = (ROOT / "README.md").read_text(encoding="utf-8").partition("\n")[0]
        assert first.lstrip("# ").split(":")[0] in page


def test_every_public_name_in_include_is_in_the_api_pages(html):
    shown = set()
    for g in html.glob("group__*.html"):
        text = g.read_text(encoding="utf-8")
        for cell in re.findall(r'class="memname">(.*?)</td>', text, re.S):
            shown.update(re.findall(r"\w+", re.sub(r"<[^>]+>", " ", cell)))
        for s in re.findall(r'href="(?:struct|union)(\w+?)\.html"', text):
            shown.add(s.replace("__", "_"))
    names = public_names()
    assert len(names["function"]) >= 20, names      # the parser found them
    missing = [f"{kind} {n} ({h})" for kind, found in names.items()
               for n, h in found.items() if n not in shown]
    assert not missing, "not in any API group page: " + ", ".join(missing)


def broken_links(site_dir):
    """Links of SITE_DIR's pages to a file or anchor that is not there: (pages, broken)."""
    pages = {p: parse_links(p) for p in site_dir.glob("*.html")}
    broken = []
    for page, links in pages.items():
        for tag, key, ref in links.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith("#"):
                continue                 # http:, javascript:, same-page anchors
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append(f"{page.name}: {ref}")
            elif parts.fragment and target.suffix == ".html" and \
                    parts.fragment not in (pages.get(target) or parse_links(target)).anchors:
                broken.append(f"{page.name}: {ref} (no such anchor)")
    return pages, broken


def test_no_internal_link_is_broken(html):
    pages, broken = broken_links(html)
    assert len(pages) > 20
    assert not broken, "broken links:\n" + "\n".join(broken[:30])


# --- the Chinese site ---------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
UNTRANSLATED_NOTE = "还没有写好，下面是英文原文"


def page_text(path):
    page = re.sub(r"<script.*?</script>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", page))


def lost_lines(readme, page_path):
    """Lines of prose of README (12+ letters and digits) not on the page; the
    title line is left out (the page numbers the lesson its own way)."""
    shown = alnum(page_text(page_path))
    lost, in_fence = [], False
    for number, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("# ") or README_NAV.match(line) or TWIN_LINK.match(line):
            continue
        if re.match(r"\s*(```|~~~)", line):
            in_fence = not in_fence
            continue
        words = re.sub(r"^\s*(?:[-*+>]|\d+[.)]|#+)\s+", "", line)
        words = re.sub(r"!?\[([^\]]*)\]\([^)]*\)|<!--.*?-->", r"\1", words)
        words = re.sub(r"</?(?:a|b|br|code|em|i|kbd|p|span|strong|sub|sup|tt|"
                       r"details|summary)\b[^>]*>", "", words)
        words = alnum(unescape(words))
        if not in_fence and len(words) >= 12 and words not in shown:
            lost.append(f"{readme.name}:{number}: {line.strip()[:80]}")
    return lost


def test_make_docs_builds_the_chinese_site(site, html):
    res, _ = site
    zh = html / "zh"
    assert (zh / "index.html").is_file()
    assert f"{zh}/index.html" in res.stdout
    conf = (ROOT / "docs" / "Doxyfile.zh").read_text(encoding="utf-8")
    assert re.search(r"^OUTPUT_LANGUAGE\s*=\s*Chinese\s*$", conf, re.M)
    # Doxygen's own words are Chinese there: the menu and the API pages.
    assert "首页" in (zh / "menudata.js").read_text(encoding="utf-8")
    assert "函数" in page_text(zh / "group__args.html")
    assert re.search(r'<html [^>]*lang="zh-CN"', html_of(zh, "index.html"))
    assert re.search(r'<html [^>]*lang="en"', html_of(html, "index.html"))


@pytest.mark.parametrize("lesson", LESSONS, ids=[d.name for d in LESSONS])
def test_each_lesson_has_a_chinese_page(html, lesson):
    num = lesson.name[:2]
    page = html_of(html / "zh", f"lesson_{num}.html")
    assert re.search(rf'<div class="title">第{num}课：', page), "no Chinese title"
    chart = ROOT / "docs" / "diagrams" / "zh" / f"lesson_{num}.msc"
    if chart.exists():
        # The Chinese chart, drawn as SVG (Doxygen's own \\msc has no Chinese glyphs).
        svg = re.search(r'<div class="mscgraph">\s*<svg class="msc".*?</svg>', page, re.S)
        assert svg and not re.search(r'<img src="msc_inline', page)
        labels = unescape(re.sub(r"<[^>]+>", " ", svg.group(0).split("</style>")[1]))
        assert "服务器" in labels and CJK.search(labels), labels
    else:
        images = re.findall(r'<img src="(msc_inline_mscgraph_\d+\.png)"', page)
        assert images and (html / "zh" / images[0]).stat().st_size > 1000
    words = ROOT / "docs" / "diagrams" / "zh" / f"lesson_{num}.md"
    if words.exists():
        assert not lost_lines(words, html / "zh" / f"lesson_{num}.html"), "diagram's words"
    zh_readme, en_readme = lesson / "README.zh.md", lesson / "README.md"
    if zh_readme.exists():
        assert UNTRANSLATED_NOTE not in page_text(html / "zh" / f"lesson_{num}.html")
        lost = lost_lines(zh_readme, html / "zh" / f"lesson_{num}.html")
        assert not lost, "lines of README.zh.md lost:\n" + "\n".join(lost[:10])
    elif en_readme.exists():
        # Until the translation is written: the English text, said so.
        assert UNTRANSLATED_NOTE in page_text(html / "zh" / f"lesson_{num}.html")
        assert not lost_lines(en_readme, html / "zh" / f"lesson_{num}.html")


def test_chinese_main_page_lists_every_lesson(html):
    page = html_of(html / "zh", "index.html")
    assert "服务器和客户端的步骤" in page and "本站的课程" in page
    for lesson in LESSONS:
        assert f'href="lesson_{lesson.name[:2]}.html"' in page
    readme = ROOT / ("README.zh.md" if (ROOT / "README.zh.md").exists() else "README.md")
    assert not lost_lines(readme, html / "zh" / "index.html")


def test_chinese_site_has_no_broken_link(html):
    pages, broken = broken_links(html / "zh")
    assert len(pages) > 20
    assert not broken, "broken links:\n" + "\n".join(broken[:30])


class Paragraphs(HTMLParser):
    """The text of each paragraph, list item, table cell and heading of a
    page, with each code span as one Latin letter (code sits apart from the
    Chinese around it, as Latin words do) and code blocks left out."""
    BLOCKS = {"p", "li", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "div", "summary"}
    CODE = {"code", "tt", "kbd"}

    def __init__(self):
        super().__init__()
        self.texts, self.current, self.skipping = [], [], []

    def handle_starttag(self, tag, attrs):
        if self.skipping:
            self.skipping.append(tag)
            return
        if tag in self.CODE:
            self.current.append("X")
        if tag in self.CODE or tag in ("pre", "script", "style") or \
                (tag == "div" and "fragment" in (dict(attrs).get("class") or "")):
            self.skipping.append(tag)
        elif tag in self.BLOCKS:
            self.flush()

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data):
        if not self.skipping:
            self.current.append(data)

    def flush(self):
        text = "".join(self.current).strip()
        self.current = []
        if text:
            self.texts.append(text)


CJK_GAP = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]\s+"
                     r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_chinese_pages_have_no_space_between_two_chinese_characters(html):
    """A README wraps its Chinese lines anywhere; a line break is a space on
    the page ("一个 报文"), which Chinese does not have: docs/lesson-pages.py
    joins such lines. On the pages made from the kit's texts (the main page,
    the lessons, the API page, the examples), no paragraph has a space
    between two Chinese characters (or full-width punctuation)."""
    site = html / "zh"
    pages = [site / "index.html", site / "api.html"] + sorted(site.glob("lesson_*.html"))
    pages += sorted(site.glob("*-example.html"))
    gaps = []
    for page in pages:
        parser = Paragraphs()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.flush()
        for text in parser.texts:
            gaps += [f"{page.name}: ...{text[max(0, m.start() - 12):m.end() + 12]}..."
                     for m in CJK_GAP.finditer(text)]
    assert len(pages) > 12
    assert not gaps, f"{len(gaps)} spaces between Chinese characters:\n" + "\n".join(gaps[:20])


def test_every_page_links_to_itself_in_the_other_language(html):
    """The header of each page of each site: a link to the other site, to its
    index.html without JavaScript (a script makes it the same page)."""
    for site_dir, other, word in ((html, html / "zh", "中文"), (html / "zh", html, "English")):
        pages = sorted(p for p in site_dir.glob("*.html")
                       if 'content="Doxygen ' in p.read_text(encoding="utf-8"))
        assert len(pages) > 20
        for page in pages:
            text = page.read_text(encoding="utf-8")
            m = re.search(r'<a id="langswitch-link" href="([^"]+)"[^>]*>([^<]+)</a>', text)
            assert m, f"{page.relative_to(html)}: no link to the other language"
            assert m.group(2) == word
            assert (site_dir / m.group(1)).resolve() == (other / "index.html").resolve()
            assert 'replace(/index\\.html$/,f)' in text
        # The same page exists on the other site, so the script's link works
        # (not for dir_*: the script leaves those at index.html).
        missing = [p.name for p in pages
                   if not (other / p.name).exists() and not p.name.startswith("dir_")]
        assert not missing, f"pages only in {site_dir.name}: {missing[:10]}"


SAMPLE_ZH = """# 第04课：accept 和 connect —— 从两端看一个连接

[English](README.md) · 上一课：[第03课：listen](../03-listen/README.zh.md) · 下一课：[第05课](../05-send-recv/README.zh.md)

原教程服务端的第4步，和客户端（demo5）的第1、2步。先看[accept()做了什么](#accept做了什么)。

## `accept()`做了什么

`accept()`从accept队列里取出一个已经完成三次握手的连接，返回一个**新的**socket；
每个`.c`文件都能在本站浏览。监听socket仍然处于`LISTEN`状态。

## 用GBK终端的同学

终端是GBK编码时，设置`LANG=zh_CN.UTF-8`，或者用`iconv -f UTF-8 -t GBK`转换输出。

```sh
build/04-accept/server 5005
```
"""


@pytest.fixture(scope="module")
def sample_zh_site(tmp_path_factory):
    """`make docs` in a copy of the kit where lesson 04 and the top README
    have a README.zh.md (and the English ones link to them, as they will)."""
    need("doxygen", "doxygen")
    need("dot", "graphviz")
    tree = tmp_path_factory.mktemp("zhkit") / "kit"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    lesson = tree / "lessons" / "04-accept"
    (lesson / "README.zh.md").write_text(SAMPLE_ZH, encoding="utf-8")
    (tree / "lessons" / "03-listen" / "README.zh.md").unlink(missing_ok=True)
    for d in (lesson, tree):
        en = d / "README.md"
        title, _, rest = en.read_text(encoding="utf-8").partition("\n")
        if "(README.zh.md)" not in rest:
            en.write_text(f"{title}\n\n[中文](README.zh.md)\n{rest}", encoding="utf-8")
    (tree / "README.zh.md").write_text(
        "# socketlab：用C语言一步一步学TCP socket\n\n[English](README.md)\n\n"
        "这是一套TCP socket编程的实验教材，从[第04课](lessons/04-accept/README.zh.md)"
        "开始也有客户端。\n", encoding="utf-8")
    out = tree / "build" / "docs"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    res = subprocess.run(["make", "--no-print-directory", "docs"], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert not re.search(r"warning|error", res.stdout + res.stderr, re.I), res.stdout + res.stderr
    return tree, out / "html"


def test_a_readme_zh_becomes_the_chinese_lesson_page(sample_zh_site):
    tree, html = sample_zh_site
    page = html / "zh" / "lesson_04.html"
    assert "<div class=\"title\">第04课：accept 和 connect —— 从两端看一个连接" in \
        page.read_text(encoding="utf-8")
    assert UNTRANSLATED_NOTE not in page_text(page)
    lost = lost_lines(tree / "lessons" / "04-accept" / "README.zh.md", page)
    assert not lost, lost
    # 每个`.c`文件: a code span, not "<tt>" as text.
    assert "<code>.c</code>" in page.read_text(encoding="utf-8")
    assert "&lt;tt&gt;" not in page.read_text(encoding="utf-8")
    # A lesson with no README.zh.md (03 here) keeps the English text under the note.
    assert UNTRANSLATED_NOTE in page_text(html / "zh" / "lesson_03.html")
    assert "用C语言一步一步学TCP" in page_text(html / "zh" / "index.html")


def test_links_between_the_twins_cross_between_the_sites(sample_zh_site):
    _, html = sample_zh_site
    zh = parse_links(html / "zh" / "lesson_04.html").refs
    en = parse_links(html / "lesson_04.html").refs
    assert ("a", "href", "../lesson_04.html") in zh, "README.md link: not the English page"
    assert ("a", "href", "lesson_03.html") in zh and ("a", "href", "lesson_05.html") in zh
    assert any("#lesson_04_" in r for _, _, r in zh), "no link to a Chinese heading"
    assert ("a", "href", "zh/lesson_04.html") in en, "README.zh.md link: not the Chinese page"
    assert ("a", "href", "zh/index.html") in parse_links(html / "index.html").refs
    for site in (html, html / "zh"):
        _, broken = broken_links(site)
        assert not broken, broken


# --- rendering in headless Chromium -------------------------------------------

def png_pixels(data):
    """Decode an 8-bit RGB/RGBA PNG with zlib only: (width, height, channels, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), f"PNG depth {depth} colour {color}"
            chans = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * chans
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(chans, stride):
                line[i] = (line[i] + line[i - chans]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - chans] if i >= chans else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - chans] if i >= chans else 0
                b, c = prev[i], prev[i - chans] if i >= chans else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, chans, rows


def screenshot(url, out, profile):
    need("chromium", "chromium")
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage",
           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", f"--screenshot={out}",
           "--window-size=1200,900", url]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=50)
    assert res.returncode == 0 and out.exists(), res.stderr[-2000:]
    return out.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "lesson_04.html"])
def test_chromium_renders_the_page_as_more_than_a_blank(html, tmp_path, page):
    png = screenshot((html / page).as_uri(), tmp_path / "shot.png", tmp_path / "profile")
    w, h, chans, rows = png_pixels(png)
    assert (w, h) == (1200, 900)
    # Grey levels of every 4th pixel of every 4th row: a blank page is one
    # colour; a rendered page has text, a header bar and a diagram.
    grey = [sum(r[x:x + 3]) // 3 for r in rows[::4] for x in range(0, w * chans, 4 * chans)]
    mean = sum(grey) / len(grey)
    var = sum((g - mean) ** 2 for g in grey) / len(grey)
    dark = sum(1 for g in grey if g < 128) / len(grey)
    assert var > 200, f"{page}: pixel variance {var:.0f}: looks blank"
    assert 0.005 < dark < 0.6, f"{page}: {dark:.1%} dark pixels: no text, or all dark"
    assert len(set(grey)) > 30, f"{page}: only {len(set(grey))} grey levels"


# --- Chinese text in the browser: glyphs, not boxes ---------------------------

CELL = 64          # px: one character per square cell


def need_cjk_font():
    """A font with Chinese glyphs (Debian: fonts-wqy-zenhei or fonts-noto-cjk)."""
    need("fc-list", "fontconfig")
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                           text=True).stdout.strip()
    if found:
        return
    msg = "no font with Chinese glyphs (apt-get install fonts-wqy-zenhei)"
    if IN_CI:
        pytest.fail(msg + "; CI=true, so .ci/run must install it")
    pytest.skip(msg)


def no_cjk_fonts_env(tmp_path):
    """An environment in which fontconfig sees DejaVu only: what a machine
    without a CJK font shows (Chinese as boxes)."""
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("fonts-dejavu-core is not installed (the no-CJK reference)")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'fc'}</cachedir>"
                    f"</fontconfig>\n", encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def shot(url, out, size, env=None):
    """A headless Chromium screenshot of URL: rows of grey levels."""
    need("chromium", "chromium")
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage",
           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={out.with_suffix('.profile')}", f"--screenshot={out}",
           f"--window-size={size[0]},{size[1]}", url]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=50, env=env)
    assert res.returncode == 0 and out.exists(), res.stderr[-2000:]
    w, h, chans, rows = png_pixels(out.read_bytes())
    return [[sum(r[x:x + 3]) // 3 for x in range(0, w * chans, chans)] for r in rows]


def cells(grey, n):
    """The N square cells of a one-row screenshot, each as a tuple of grey levels."""
    return [tuple(v for row in grey[:CELL] for v in row[i * CELL:(i + 1) * CELL])
            for i in range(n)]


@pytest.mark.slow
def test_chinese_on_a_lesson_page_renders_as_glyphs_not_boxes(html, tmp_path):
    """The Chinese characters of lesson 04's Chinese page, one per cell: each
    is drawn (ink in its cell), each is its own shape (the boxes a missing
    font leaves are all alike), and each differs from what the same
    character looks like with no CJK font at all."""
    need_cjk_font()
    chars = []
    for c in page_text(html / "zh" / "lesson_04.html"):
        if CJK.match(c) and c not in chars:
            chars.append(c)
    chars = chars[:12]
    assert len(chars) >= 6, f"lesson 04's Chinese page has little Chinese: {chars}"
    probe = tmp_path / "glyphs.html"
    probe.write_text(
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        f"body{{margin:0;background:#fff;display:flex}} div{{width:{CELL}px;height:{CELL}px;"
        f"font-size:{CELL * 3 // 4}px;line-height:{CELL}px;text-align:center;overflow:hidden;"
        "color:#000;font-family:sans-serif}</style></head><body>" +
        "".join(f"<div>{c}</div>" for c in chars) + "</body></html>", encoding="utf-8")
    size = (CELL * len(chars), CELL * 2)
    real = cells(shot(probe.as_uri(), tmp_path / "real.png", size), len(chars))
    boxes = cells(shot(probe.as_uri(), tmp_path / "boxes.png", size,
                       env=no_cjk_fonts_env(tmp_path)), len(chars))
    for c, cell, box in zip(chars, real, boxes):
        ink = sum(1 for v in cell if v < 128)
        assert ink > CELL, f"{c}: blank cell ({ink} dark pixels)"
        assert cell != box, f"{c}: drawn as with no CJK font (a box)"
    alike = [(chars[i], chars[j]) for i in range(len(chars)) for j in range(i)
             if real[i] == real[j]]
    assert not alike, f"characters drawn alike, as boxes are: {alike}"


@pytest.mark.slow
def test_the_chinese_lesson_page_is_drawn_with_a_cjk_font(html, tmp_path):
    """The page itself: its top (title, menu, navigation, all Chinese) comes
    out differently with and without a CJK font, so the font is in use."""
    need_cjk_font()
    url = (html / "zh" / "lesson_04.html").as_uri()
    real = shot(url, tmp_path / "real.png", (1000, 300))
    boxes = shot(url, tmp_path / "boxes.png", (1000, 300), env=no_cjk_fonts_env(tmp_path))
    changed = sum(1 for a, b in zip((v for r in real for v in r), (v for r in boxes for v in r))
                  if abs(a - b) > 64)
    assert changed > 2000, f"only {changed} pixels change without a CJK font"
