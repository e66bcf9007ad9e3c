#!/usr/bin/env python3
"""lesson-pages.py - turn the kit's READMEs into Doxygen pages.

The READMEs stay plain GitHub markdown; this writes Doxygen's copies into
build/docs/pages/: index.md (the top-level README with the seed's diagram),
lesson_NN.md (each lesson's README with a label, previous/next links, its
sequence diagram from docs/diagrams/ and its programs), examples.dox, and
the hand-written pages of docs/pages/ (the API page with its back link).

With --lang zh it writes the Chinese site's pages (build/docs/pages-zh/)
from the README.zh.md beside each README.md (where there is none yet, from
the English README under a note saying so) and docs/zh/. Links between the two languages'
READMEs become links between the two sites (html/ and html/zh/).

Usage: python3 docs/lesson-pages.py [--root DIR] [--out DIR] [--lang en|zh]
"""
import argparse
import html
import re
import sys
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import msc  # noqa: E402  (docs/msc.py)

LESSON_DIR = re.compile(r"^(\d\d)-([a-z0-9-]+)$")
TITLE = re.compile(r"^#\s+(?:Lesson\s+(\d+)|第\s*(\d+)\s*课)\s*[:：.-]?\s*(.+?)\s*(\{#[^}]*\})?\s*$")

# Each site's README file and the words the script adds to its pages.
WORDS = {
    "en": {"readme": "README.md", "lesson": "Lesson {n}", "colon": ": ", "contents": "Contents",
           "library": "The support library", "wire": "On the wire and in the kernel",
           "programs": "The programs, annotated", "built": "built as",
           "steps": "The steps, server and client", "course": "The course in this site",
           "api": "The support library's API",
           "api_what": "the helpers in `include/` that trace, parse and explain",
           "examples": "All the lessons' programs", "annotated": "annotated",
           "role": {"server": "The server of", "client": "The client of"},
           "unwritten": "The README of this lesson is not written yet; see its programs below.",
           "untranslated": None,
           "timeline": "The real run, on one clock",
           "timeline_text": "The diagram above is drawn by hand. Below is what really happened when this "
                            "lesson's programs ran while the site was built (`make timeline LESSON={n}`): "
                            "each call on its program's lane as a bar from when it started to when it "
                            "returned, each state the kernel reported (and after the programs' last "
                            "calls, the states their sockets went on through, such as TIME_WAIT), each "
                            "packet captured on the wire as an arrow. Hover over or click anything for "
                            "its details.",
           "timeline_open": "Open the timeline on its own page"},
    "zh": {"readme": "README.zh.md", "lesson": "第{n}课", "colon": "：", "contents": "目录",
           "library": "支持库", "wire": "线路上和内核里发生了什么",
           "programs": "本课的程序（带注释的源码）", "built": "编译为",
           "steps": "服务器和客户端的步骤", "course": "本站的课程",
           "api": "支持库的API",
           "api_what": "`include/` 里的辅助函数：跟踪、解析参数、解释错误",
           "examples": "各课的全部程序", "annotated": "带注释",
           "role": {"server": "服务器：", "client": "客户端："},
           "unwritten": "本课的 README 还没有写好；请看下面的程序。",
           "untranslated": "本页的中文版（{file}）还没有写好，下面是英文原文。",
           "timeline": "真实的一次运行：同一个时钟上的调用和报文",
           "timeline_text": "上面的图是手画的。下面是建站时本课程序真正运行的记录（`make timeline LESSON={n}`）："
                            "每个调用画在所属程序的泳道上，是一根从开始到返回的竖条；内核报告的每个 TCP 状态"
                            "（程序最后一个调用之后，它们的socket还会经过的状态，比如 TIME_WAIT，也画出来）；"
                            "线路上抓到的每个报文画成箭头。把鼠标移到任何一项上或点击它，可以看到细节。",
           "timeline_open": "在单独的页面中打开时间线"},
}
OTHER = {"en": "zh", "zh": "en"}
# Where the other language's site is, from this one's pages.
OTHER_SITE = {"en": "zh/", "zh": "../"}
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TOKEN = re.compile(r"(?P<code>`+[^`]*`+)|(?P<bang>!?)\[(?P<label>[^\]]*)\]"
                   r"\((?P<href>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
# Chinese characters and full-width punctuation.
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Things outside code that Doxygen reads as commands or HTML tags.
COMMAND = re.compile(r"([\\@])(?=[A-Za-z{}\\@&$#<>%\".|:-])")
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9_-]*)([^<>]*)>")
# HTML tags Doxygen understands; any other <word> is text, so escape it.
KNOWN_TAGS = {"a", "b", "br", "code", "em", "i", "img", "kbd", "li", "ol",
              "p", "pre", "strong", "sub", "sup", "table", "td", "th", "tr",
              "tt", "ul", "dl", "dt", "dd", "hr", "small", "center", "div",
              "span", "blockquote", "details", "summary", "caption", "u",
              "s", "strike", "del", "ins", "h1", "h2", "h3", "h4", "h5", "h6"}


def lessons(root):
    """The lesson directories, in order: [(number "NN", name, path)]."""
    found = []
    for d in sorted((root / "lessons").iterdir()):
        m = LESSON_DIR.match(d.name)
        if d.is_dir() and m:
            found.append((m.group(1), m.group(2), d))
    return found


def escape_text(text):
    """Escape, in text outside code, what Doxygen would take as markup."""
    text = COMMAND.sub(r"\\\1", text)
    text = re.sub(r"(?<![\w&])([%#])(?=\w)", r"\\\1", text)   # %word, #word
    text = re.sub(r"::(?=[A-Za-z_])", "::%", text)                # ::word

    def tag(m):
        if m.group(2).lower() in KNOWN_TAGS or m.group(3).startswith("://"):
            return m.group(0)
        return "&lt;" + m.group(0)[1:-1] + "&gt;"
    # Doxygen 1.9.4 shows "quoted text" as it is, so a `code span` in
    # quotes ("more than `backlog`") stays raw: &quot; is a plain quote to
    # it. Not inside the tags, whose attributes keep their quotes.
    out, pos = [], 0
    for m in TAG.finditer(text):
        out += [text[pos:m.start()].replace('"', "&quot;"), tag(m)]
        pos = m.end()
    return "".join(out) + text[pos:].replace('"', "&quot;")


HEADING = re.compile(r"^(#{2,6})\s+(.*?)\s*$")


def github_slug(heading):
    """The anchor GitHub gives a heading: its words, lower case, dashed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links: their words
    text = re.sub(r"[`*_~]|<[^>]*>", "", text).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text))


def page_anchors(text):
    """{GitHub anchor: Doxygen label suffix} for the headings of TEXT."""
    found, seen, in_fence = {}, {}, False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else HEADING.match(line)
        if m and "{#" not in m.group(2):
            slug = github_slug(m.group(2))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchor = slug if n == 0 else f"{slug}-{n}"
            found[anchor] = re.sub(r"[^a-z0-9]", lambda c: "_" if c.group() == "-"
                                   else f"u{ord(c.group()):x}", anchor)
    return found


class Linker:
    """Rewrite a README's relative links into Doxygen references."""

    def __init__(self, root, lesson_list, lang="en"):
        self.root = root.resolve()
        self.lang = lang
        self.by_dir = {d.resolve(): n for n, _, d in lesson_list}
        self.anchors = {}          # (language, page id): {GitHub anchor: label}
        for code in WORDS:
            name = WORDS[code]["readme"]
            readmes = [("index", self.root / name)]
            readmes += [(f"lesson_{n}", d / name) for n, _, d in lesson_list]
            for page, path in readmes:
                if path.exists():
                    self.anchors[code, page] = page_anchors(path.read_text(encoding="utf-8"))

    def page_of(self, path):
        """(language, page id) of a README (or its directory), else (None, None)."""
        lang = "zh" if path.name == WORDS["zh"]["readme"] else self.lang
        if path.name in (WORDS["en"]["readme"], WORDS["zh"]["readme"]):
            if path.name == WORDS["en"]["readme"]:
                lang = "en"
            path = path.parent
        if path == self.root:
            return lang, "index"
        lesson = self.by_dir.get(path)
        return (lang, f"lesson_{lesson}") if lesson else (None, None)

    def label(self, page, anchor, lang=None):
        """The Doxygen label of heading ANCHOR on PAGE, or the page itself."""
        suffix = self.anchors.get((lang or self.lang, page), {}).get(unquote(anchor).lower())
        return f"{page}_{suffix}" if suffix else page

    def target(self, src_dir, href):
        """The Doxygen link for HREF, or None to keep only the link text."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            return href                      # http:, https:, mailto:
        file, _, anchor = href.partition("#")
        path = (src_dir / file).resolve()
        lang, page = self.page_of(path)
        if page and lang != self.lang:
            # The other language's README: its page on the other site. A
            # directory link (../02-bind/) means this site's language.
            if file.endswith(".md"):
                label = self.label(page, anchor, lang) if anchor else page
                return f"{OTHER_SITE[self.lang]}{page}.html" + (
                    f"#{label}" if label != page else "")
            lang = self.lang
        if page:
            return "@ref " + (self.label(page, anchor) if anchor else page)
        lesson = self.by_dir.get(path.parent)
        if lesson and path.suffix == ".c" and path.exists():
            return f"@ref {path.relative_to(self.root / 'lessons').as_posix()}"
        return None


def code_span(code):
    """A `code span` as Doxygen must see it: Doxygen 1.9.4 reads `::word`
    even there as a link to a member `word` (and warns); `::%word` shows as
    `::word` and links to nothing. And a single-backtick span holding a `'`
    is read as a quotation (`like this') with commands inside; a
    double-backtick span is not."""
    code = re.sub(r"::(?=[A-Za-z_])", "::%", code)
    if "'" in code and not code.startswith("``"):
        code = "`` " + code[1:-1] + " ``"
    return code


def escape_outside_code(text):
    """escape_text() on the parts of TEXT that are not `code spans`."""
    parts = re.split(r"(`+[^`]*`+)", text)
    for i in range(len(parts)):
        parts[i] = code_span(parts[i]) if i % 2 else escape_text(parts[i])
    return "".join(parts)


def convert_line(line, src_dir, linker):
    """One line of text: links rewritten, markup outside code escaped."""
    # Doxygen 1.9.4 leaves **bold with `code`** as it is: use <b>.
    line = re.sub(r"\*\*([^*]*`[^*]*)\*\*", r"<b>\1</b>", line)
    out, pos = [], 0
    for m in TOKEN.finditer(line):
        out.append(escape_text(line[pos:m.start()]))
        if m.group("code"):
            # Doxygen 1.9.4 misreads a span right after a Chinese character
            # (每个`.c`文件 shows as <tt>.c): set it apart with spaces.
            before = " " if CJK.match(line[m.start() - 1:m.start()] or "x") else ""
            after = " " if CJK.match(line[m.end():m.end() + 1] or "x") else ""
            out.append(before + code_span(m.group(0)) + after)
        elif m.group("bang"):
            out.append(image(src_dir, m.group("label"), m.group("href")))
        else:
            label, href = m.group("label", "href")
            to = linker.target(src_dir, href)
            if to and to.startswith("@ref"):
                # Doxygen 1.9.4 shows a reference's text as it is: no `code`.
                label = label.replace("`", "")
            label = escape_outside_code(label)
            out.append(f"[{label}]({to})" if to else label)
        pos = m.end()
    out.append(escape_text(line[pos:]))
    return "".join(out)


def image(src_dir, label, href):
    """A README's image: an SVG file beside it goes into the page itself,
    so the site needs no copy of it (a plot drawn by make bench-scale, for
    one); any other image keeps only its words."""
    path = src_dir / href
    if href.endswith(".svg") and path.is_file():
        svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", path.read_text(encoding="utf-8"))
        svg = svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(label)}" '
                                  'style="max-width:100%;height:auto"', 1)
        return (f'\\htmlonly\n<div class="image">\n{svg.strip()}\n'
                f'<div class="caption">{html.escape(label)}</div>\n</div>\n\\endhtmlonly')
    return escape_outside_code(label)


def heading_text(line):
    """A heading as Doxygen 1.9.4 can show it: plain words, because it shows
    markup there as text (`&lt;tt&gt;`, `<a href=...>`)."""
    line = re.sub(r"!?\[([^\]]*)\](\([^)]*\)|\[[^\]]*\])?", r"\1", line)  # links
    line = re.sub(r"<([a-z]+://[^>]*)>", r"\1", line)                       # <url>
    line = re.sub(r"`+([^`]*)`+", r"\1", line)
    line = re.sub(r"\*\*([^*]*)\*\*|__([^_]*)__", lambda c: c.group(1) or c.group(2), line)
    line = COMMAND.sub(r"\\\1", line)
    return re.sub(r"(?<![\w&])([%#])(?=\w)", r"\\\1", line)


def convert(md, src_dir, linker, page):
    """Markdown for Doxygen: links rewritten, markup outside code escaped,
    and each heading labelled as GitHub anchors it (page_anchors())."""
    out, in_fence, in_details = [], False, False
    labels = iter(page_anchors(md).values())
    lines = md.splitlines()
    while lines:
        line = lines.pop(0)
        # A `code span` that goes on to the next line is converted whole.
        while (not in_fence and not FENCE.match(line) and line.count("`") % 2 and
               lines and lines[0].strip() and not FENCE.match(lines[0])):
            line += "\n" + lines.pop(0)
        # A <details> answer block: GitHub needs blank lines around its
        # Markdown, Doxygen 1.9.4 splits the block at them; drop them here.
        if re.match(r"\s*<details>", line):
            in_details = True
        elif re.match(r"\s*</details>", line):
            in_details = False
        if in_details and not in_fence and not line.strip():
            continue
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        m = HEADING.match(line)
        if m:
            text = heading_text(line)
            if "{#" not in m.group(2):
                text += f" {{#{page}_{next(labels)}}}"
        else:
            text = convert_line(line, src_dir, linker)
        out.append(text)
    return "\n".join(out) + "\n"


# A README's own line of links to the lessons before and after it. The page
# has its own (nav()), at the top and at the bottom, so the README's goes.
README_NAV = re.compile(r"^(?:Previous|上一课)\s*[:：].*?\s[·|]\s*(?=(?:Next|下一课)\s*[:：])", re.S)
NEXT_ITEM = re.compile(r"(?:Next|下一课)\s*[:：]\s*(?:\[[^\]]*\]\([^)]*\)|[^\n]*?[)）])")


def drop_readme_nav(md):
    """MD without its "Previous: ... · Next: ..." paragraphs. Where the
    paragraph goes on to say what comes next ("Next: [Lesson 07](...): where
    one message ends"), that sentence stays, without the "Previous" part."""
    out = []
    for para in re.split(r"(\n\s*\n)", md):
        m = README_NAV.match(para)
        if m:
            rest = para[m.end():]
            n = NEXT_ITEM.match(rest)
            if n and not rest[n.end():].strip(" .:：。\n"):
                continue
            para = rest
        out.append(para)
    return "".join(out)


def split_lead(body):
    """(text before the first '## ' heading, the rest) of a page body."""
    m = re.search(r"^## ", body, re.M)
    if not m:
        return body, ""
    return body[:m.start()], body[m.start():]


def read_diagram(docs, name, lang="en"):
    """docs/diagrams/NAME (NAME.md: words, then a \\msc or \\dot picture); for
    another language, its words from docs/diagrams/LANG/NAME, and its picture
    from docs/diagrams/LANG/NAME.msc or .dot where there is one. Doxygen's
    built-in \\msc cannot draw Chinese (its fonts are Latin), so a LANG/*.msc
    chart is drawn by docs/msc.py as inline SVG; a \\dot graph goes to graphviz,
    which can."""
    path = docs / "diagrams" / name
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8").strip() + "\n"
    if lang == "en":
        return text
    m = re.search(r"^\\(?:msc|dot)\b", text, re.M)
    words, picture = (text[:m.start()], text[m.start():]) if m else (text, "")
    own = docs / "diagrams" / lang / name
    if own.exists():
        words = join_wrapped_chinese(own.read_text(encoding="utf-8")).strip() + "\n\n"
    stem = docs / "diagrams" / lang / Path(name).stem
    if stem.with_suffix(".msc").exists():
        picture = ("\\htmlonly\n" + msc.svg(stem.with_suffix(".msc").read_text(encoding="utf-8")) +
                   "\\endhtmlonly\n")
    elif stem.with_suffix(".dot").exists():
        picture = stem.with_suffix(".dot").read_text(encoding="utf-8").strip() + "\n"
    return words + picture


def nav(i, lesson_list, titles, w):
    """The previous / contents / next line of lesson I's page."""
    items = []
    if i > 0:
        n = lesson_list[i - 1][0]
        items.append(f"[&larr; {w['lesson'].format(n=n)}{w['colon']}{titles[n]}](@ref lesson_{n})")
    items.append(f"[{w['contents']}](@ref index)")
    if i + 1 < len(lesson_list):
        n = lesson_list[i + 1][0]
        items.append(f"[{w['lesson'].format(n=n)}{w['colon']}{titles[n]} &rarr;](@ref lesson_{n})")
    else:
        items.append(f"[{w['library']} &rarr;](@ref api)")
    return " | ".join(items) + "\n"


def extra_pages(docs, lesson_list, short, lang):
    """The hand-written pages (docs/pages/, docs/zh/ for Chinese), each page
    labelled {#api} with its link back to the last lesson (whichever that is)
    and to the contents under its title: {file name: text}."""
    w = WORDS[lang]
    last = lesson_list[-1][0]
    back = (f"[&larr; {w['lesson'].format(n=last)}{w['colon']}{short[last]}](@ref lesson_{last})"
            f" | [{w['contents']}](@ref index)\n")
    pages = {}
    for path in sorted((docs / ("pages" if lang == "en" else lang)).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title, _, body = text.partition("\n")
        if "{#api}" in title:
            text = title + "\n\n" + back + "\n" + body.lstrip("\n")
        pages[path.name] = join_wrapped_chinese(text) if lang != "en" else text
    return pages


def timeline_section(d, timelines, lang):
    """The lesson's real run (tools/timeline's page, timeline_<lesson>.html, and
    for the Chinese site its Chinese drawing timeline_<lesson>.zh.html), shown
    in an iframe; the page is copied into the site by HTML_EXTRA_FILES (mk/docs.mk)."""
    if not timelines:
        return []
    names = ([f"timeline_{d.name}.{lang}.html"] if lang != "en" else []) + [f"timeline_{d.name}.html"]
    page = next((Path(timelines) / n for n in names if (Path(timelines) / n).exists()), None)
    if not page:
        return []
    w = WORDS[lang]
    return [f"## {w['timeline']}\n\n",
            w["timeline_text"].format(n=d.name[:2]) + "\n\n",
            "\\htmlonly\n",
            f'<iframe src="{page.name}" title="timeline of lesson {d.name}" '
            'style="width:100%;height:640px;border:1px solid #c4cfe5" loading="lazy"></iframe>\n',
            f'<p><a href="{page.name}">{w["timeline_open"]}</a></p>\n',
            "\\endhtmlonly\n\n"]


# What may stand between a Chinese line's last (or first) character and its
# edge: inline tags (<b>, </em>), emphasis stars, a link's bracket or target.
INLINE_TAGS = r"(?:b|em|strong|i|u|s|code|kbd|span)\b"
INLINE_EDGE = re.compile(rf"</?{INLINE_TAGS}[^>]*>|\*+|\[|\]\([^)]*\)|\]")
# A line that starts a block of its own: never joined to the line above.
BLOCK_START = re.compile(rf"^\s*(?:#|\||>|[-*+]\s|\d+\.\s|```|~~~|<(?!/?{INLINE_TAGS}))")


def edge_char(line, last):
    """The first (or LAST) character of LINE a reader sees, past inline markup."""
    text = line.strip()
    while text:
        m = (re.search(f"(?:{INLINE_EDGE.pattern})$", text) if last
             else INLINE_EDGE.match(text))
        if not m or not m.group():
            break
        text = (text[:m.start()] if last else text[m.end():]).strip()
    return text[-1:] if last else text[:1]


def join_wrapped_chinese(md):
    """MD with each line break between two Chinese characters (or full-width
    punctuation) removed. A line break inside a paragraph is a space to
    Markdown and Doxygen, which in Chinese is a stray gap ("一个 报文").
    Code blocks, headings, tables and the start of list items stay."""
    out, in_fence = [], False
    for line in md.split("\n"):
        fence = bool(FENCE.match(line))
        prev = out[-1] if out else ""
        if (not in_fence and not fence and line.strip() and prev.strip()
                and not BLOCK_START.match(line) and not re.match(r"\s*(?:#|\||<!--)", prev)
                and CJK.match(edge_char(prev, True)) and CJK.match(edge_char(line, False))):
            out[-1] = prev.rstrip() + line.strip()
            continue
        if fence:
            in_fence = not in_fence
        out.append(line)
    return "\n".join(out)


# A README's link to its twin under its title (tools/zh-sync.py), and what
# the page says instead: the other language's name, in words of this one.
TWIN_LINK = re.compile(r"^(?:English|中文): \[README(?:\.zh)?\.md\]\((README(?:\.zh)?\.md)\)$",
                       re.M)
TWIN_WORDS = {"en": "In Chinese: [中文]({href})", "zh": "本页的英文原文：[English]({href})"}


def twin_link_in_words(md, lang):
    """MD with its "English: [README.md](README.md)" line (or 中文: ...) in
    words a reader of this site's language reads, the same link."""
    return TWIN_LINK.sub(lambda m: TWIN_WORDS[lang].format(href=m.group(1)), md, count=1)


def readme_text(d, lang):
    """(text, note) of the README of directory D in LANG: the English one
    under a note when the translation is not written yet; ("", None) if none."""
    w = WORDS[lang]
    own = d / w["readme"]
    if own.exists():
        text = twin_link_in_words(own.read_text(encoding="utf-8"), lang)
        return join_wrapped_chinese(text), None
    english = d / WORDS["en"]["readme"]
    if english.exists():
        note = w["untranslated"].format(file=w["readme"]) if w["untranslated"] else None
        return english.read_text(encoding="utf-8"), note
    return "", None


def lesson_page(i, lesson_list, titles, short, linker, docs, lang, timelines=None):
    w = WORDS[lang]
    num, name, d = lesson_list[i]
    text, note = readme_text(d, lang)
    if text:
        first, _, body = text.partition("\n")
        if not TITLE.match(first):
            body = text                      # no title line: keep it all
    else:
        body = w["unwritten"] + "\n"
    if note:
        body = f"<em>{note}</em>\n\n" + body.lstrip("\n")
    lead, rest = split_lead(convert(drop_readme_nav(body), d, linker, f"lesson_{num}"))
    programs = [(d, p.name) for p in sorted(d.glob("*.c"))]
    if not (d / "client.c").exists():       # lessons 08-10 run lesson 07's client
        earlier = [e for _, _, e in lesson_list[:i] if (e / "client.c").exists()]
        if earlier:
            programs.append((earlier[-1], "client.c"))
    page = [f"# {w['lesson'].format(n=num)}{w['colon']}{escape_text(titles[num])} {{#lesson_{num}}}\n",
            nav(i, lesson_list, short, w), "\n", lead.rstrip() + "\n\n"]
    diagram = read_diagram(docs, f"lesson_{num}.md", lang)
    if diagram:
        page += [f"## {w['wire']}\n\n", diagram, "\n"]
    page += timeline_section(d, timelines, lang)
    if rest:
        page += [rest.rstrip() + "\n\n"]
    if programs:
        page += [f"## {w['programs']}\n\n"]
        for src, p in programs:
            page.append(f"- [lessons/{src.name}/{p}](@ref {src.name}/{p}): "
                        f"{w['built']} `build/{d.name}/{p[:-2]}`\n")
        page.append("\n")
    page += ["<hr>\n", nav(i, lesson_list, short, w)]
    return "".join(page)


def lesson_title(num, name, d, lang="en"):
    for readme in (d / WORDS[lang]["readme"], d / WORDS["en"]["readme"]):
        if readme.exists():
            first = readme.read_text(encoding="utf-8").partition("\n")[0]
            m = TITLE.match(first)
            if m:
                return m.group(3)
    return name.replace("-", " and " if name == "send-recv" else " ")


def main_page(root, lesson_list, titles, linker, docs, lang):
    w = WORDS[lang]
    text, note = readme_text(root, lang)
    if not text:
        text = ("# socketlab\n\nA C teaching kit for TCP socket programming: "
                "six lessons, each one step of the seed's server and client."
                "\n(The README is not written yet.)\n")
    first, _, body = text.partition("\n")
    title = first.lstrip("#").strip() if first.startswith("# ") else "socketlab"
    if not first.startswith("# "):
        body = text
    if note:
        body = f"<em>{note}</em>\n\n" + body.lstrip("\n")
    lead, rest = split_lead(convert(body, root, linker, "index"))
    page = [f"# {escape_text(title)}\n", lead.rstrip() + "\n\n",
            f"## {w['steps']}\n\n",
            read_diagram(docs, "overview.md", lang), "\n"]
    if rest:
        page.append(rest.rstrip() + "\n\n")
    page.append(f"## {w['course']}\n\n")
    for num, _, _ in lesson_list:
        page.append(f"- @ref lesson_{num}\n")
    page.append(f"- [{w['api']}](@ref api): {w['api_what']}\n")
    page.append(f"- [{w['examples']}](examples.html), {w['annotated']}\n")
    return "".join(page)


def examples(lesson_list, lang):
    """examples.dox: each lesson program as a browsable, annotated example."""
    w = WORDS[lang]
    out = []
    for num, _, d in lesson_list:
        for p in sorted(d.glob("*.c")):
            role = "server" if p.stem == "server" else "client"
            if lang == "en":
                text = (f"The {role} of @ref lesson_{num}, built as "
                        f"`build/{d.name}/{p.stem}`.")
            else:
                text = (f"{w['role'][role]}[{w['lesson'].format(n=num)}](@ref lesson_{num})，"
                        f"{w['built']} `build/{d.name}/{p.stem}`。")
            out.append(f"/**\n@example {d.name}/{p.name}\n{text}\n*/\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    ap.add_argument("--root", type=Path, default=here.parent)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--lang", choices=sorted(WORDS), default="en")
    ap.add_argument("--timelines", type=Path, default=None,
                    help="where tools/timeline wrote timeline_<lesson>.html pages to embed")
    args = ap.parse_args()
    root = args.root.resolve()
    lang = args.lang
    out = args.out or root / "build" / "docs" / ("pages" if lang == "en" else f"pages-{lang}")
    out.mkdir(parents=True, exist_ok=True)
    docs = root / "docs"
    lesson_list = lessons(root)
    linker = Linker(root, lesson_list, lang)
    titles = {n: lesson_title(n, name, d, lang) for n, name, d in lesson_list}
    short = {n: re.split(r"\s+[—–-]+\s+", t)[0] for n, t in titles.items()}
    files = {"index.md": main_page(root, lesson_list, titles, linker, docs, lang),
             "examples.dox": examples(lesson_list, lang)}
    for i, (num, _, _) in enumerate(lesson_list):
        files[f"lesson_{num}.md"] = lesson_page(i, lesson_list, titles, short, linker,
                                                docs, lang, args.timelines)
    files.update(extra_pages(docs, lesson_list, short, lang))
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
