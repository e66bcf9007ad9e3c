#!/usr/bin/env python3
"""lesson-pages.py - turn the kit's READMEs into Doxygen pages.

The READMEs stay plain GitHub markdown; this writes Doxygen's copies into
build/docs/pages/: index.md (the top-level README with the seed's diagram),
lesson_NN.md (each lesson's README with a label, previous/next links, its
sequence diagram from docs/diagrams/ and its programs) and examples.dox.

Usage: python3 docs/lesson-pages.py [--root DIR] [--out DIR]
"""
import argparse
import re
import sys
from pathlib import Path
from urllib.parse import unquote

LESSON_DIR = re.compile(r"^(\d\d)-([a-z0-9-]+)$")
TITLE = re.compile(r"^#\s+Lesson\s+(\d+)\s*[:.-]\s*(.+?)\s*(\{#[^}]*\})?\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TOKEN = re.compile(r"(?P<code>`+[^`]*`+)|(?P<bang>!?)\[(?P<label>[^\]]*)\]"
                   r"\((?P<href>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
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
    return TAG.sub(tag, text)


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

    def __init__(self, root, lesson_list):
        self.root = root.resolve()
        self.by_dir = {d.resolve(): n for n, _, d in lesson_list}
        self.anchors = {}                    # page id: {GitHub anchor: label}
        readmes = [("index", self.root / "README.md")]
        readmes += [(f"lesson_{n}", d / "README.md") for n, _, d in lesson_list]
        for page, path in readmes:
            if path.exists():
                self.anchors[page] = page_anchors(path.read_text(encoding="utf-8"))

    def page_of(self, path):
        """The page id of a README (or its directory), else None."""
        if path in (self.root / "README.md", self.root):
            return "index"
        lesson = self.by_dir.get(path.parent if path.name == "README.md" else path)
        return f"lesson_{lesson}" if lesson else None

    def label(self, page, anchor):
        """The Doxygen label of heading ANCHOR on PAGE, or the page itself."""
        suffix = self.anchors.get(page, {}).get(unquote(anchor).lower())
        return f"{page}_{suffix}" if suffix else page

    def target(self, src_dir, href):
        """The Doxygen link for HREF, or None to keep only the link text."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            return href                      # http:, https:, mailto:
        file, _, anchor = href.partition("#")
        path = (src_dir / file).resolve()
        page = self.page_of(path)
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
            out.append(code_span(m.group(0)))
        else:
            bang, label, href = m.group("bang", "label", "href")
            to = None if bang else linker.target(src_dir, href)
            if to and to.startswith("@ref"):
                # Doxygen 1.9.4 shows a reference's text as it is: no `code`.
                label = label.replace("`", "")
            label = escape_outside_code(label)
            out.append(f"[{label}]({to})" if to else label)
        pos = m.end()
    out.append(escape_text(line[pos:]))
    return "".join(out)


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
    out, in_fence = [], False
    labels = iter(page_anchors(md).values())
    for line in md.splitlines():
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


def split_lead(body):
    """(text before the first '## ' heading, the rest) of a page body."""
    m = re.search(r"^## ", body, re.M)
    if not m:
        return body, ""
    return body[:m.start()], body[m.start():]


def read_diagram(docs, name):
    path = docs / "diagrams" / name
    return path.read_text(encoding="utf-8").strip() + "\n" if path.exists() else ""


def nav(i, lesson_list, titles):
    """The previous / contents / next line of lesson I's page."""
    items = []
    if i > 0:
        n = lesson_list[i - 1][0]
        items.append(f"[&larr; Lesson {n}: {titles[n]}](@ref lesson_{n})")
    items.append("[Contents](@ref index)")
    if i + 1 < len(lesson_list):
        n = lesson_list[i + 1][0]
        items.append(f"[Lesson {n}: {titles[n]} &rarr;](@ref lesson_{n})")
    else:
        items.append("[The support library &rarr;](@ref api)")
    return " | ".join(items) + "\n"


def timeline_section(d, timelines):
    """The lesson's real run (tools/timeline's page), shown in an iframe; the
    page is copied into the site by HTML_EXTRA_FILES (mk/docs.mk)."""
    page = Path(timelines) / f"timeline_{d.name}.html" if timelines else None
    if not page or not page.exists():
        return []
    return ["## The real run, on one clock\n\n",
            "The diagram above is drawn by hand. Below is what really happened when this "
            "lesson's programs ran while the site was built (`make timeline LESSON=" +
            d.name[:2] + "`): each call on its program's lane at the moment it returned, "
            "each state the kernel reported, each packet captured on the wire as an "
            "arrow. Hover over or click anything for its details.\n\n",
            "\\htmlonly\n",
            f'<iframe src="{page.name}" title="timeline of lesson {d.name}" '
            'style="width:100%;height:640px;border:1px solid #c4cfe5" loading="lazy"></iframe>\n',
            f'<p><a href="{page.name}">Open the timeline on its own page</a></p>\n',
            "\\endhtmlonly\n\n"]


def lesson_page(i, lesson_list, titles, short, linker, docs, timelines=None):
    num, name, d = lesson_list[i]
    readme = d / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        first, _, body = text.partition("\n")
        if not TITLE.match(first):
            body = text                      # no title line: keep it all
    else:
        body = ("The README of this lesson is not written yet; see its "
                "programs below.\n")
    lead, rest = split_lead(convert(body, d, linker, f"lesson_{num}"))
    programs = sorted(p.name for p in d.glob("*.c"))
    page = [f"# Lesson {num}: {escape_text(titles[num])} {{#lesson_{num}}}\n",
            nav(i, lesson_list, short), "\n", lead.rstrip() + "\n\n"]
    diagram = read_diagram(docs, f"lesson_{num}.md")
    if diagram:
        page += ["## On the wire and in the kernel\n\n", diagram, "\n"]
    page += timeline_section(d, timelines)
    if rest:
        page += [rest.rstrip() + "\n\n"]
    if programs:
        page += ["## The programs, annotated\n\n"]
        for p in programs:
            page.append(f"- [lessons/{d.name}/{p}](@ref {d.name}/{p}): "
                        f"built as `build/{d.name}/{p[:-2]}`\n")
        page.append("\n")
    page += ["<hr>\n", nav(i, lesson_list, short)]
    return "".join(page)


def lesson_title(num, name, d):
    readme = d / "README.md"
    if readme.exists():
        first = readme.read_text(encoding="utf-8").partition("\n")[0]
        m = TITLE.match(first)
        if m:
            return m.group(2)
    return name.replace("-", " and " if name == "send-recv" else " ")


def main_page(root, lesson_list, titles, linker, docs):
    readme = root / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
    else:
        text = ("# socketlab\n\nA C teaching kit for TCP socket programming: "
                "six lessons, each one step of the seed's server and client."
                "\n(The README is not written yet.)\n")
    first, _, body = text.partition("\n")
    title = first.lstrip("#").strip() if first.startswith("# ") else "socketlab"
    if not first.startswith("# "):
        body = text
    lead, rest = split_lead(convert(body, root, linker, "index"))
    page = [f"# {escape_text(title)}\n", lead.rstrip() + "\n\n",
            "## The steps, server and client\n\n",
            read_diagram(docs, "overview.md"), "\n"]
    if rest:
        page.append(rest.rstrip() + "\n\n")
    page.append("## The course in this site\n\n")
    for num, _, _ in lesson_list:
        page.append(f"- @ref lesson_{num}\n")
    page.append("- [The support library's API](@ref api): the helpers in "
                "`include/` that trace, parse and explain\n")
    page.append("- [All the lessons' programs](examples.html), annotated\n")
    return "".join(page)


def examples(lesson_list):
    """examples.dox: each lesson program as a browsable, annotated example."""
    out = []
    for num, _, d in lesson_list:
        for p in sorted(d.glob("*.c")):
            role = "server" if p.stem == "server" else "client"
            out.append(f"/**\n@example {d.name}/{p.name}\n"
                       f"The {role} of @ref lesson_{num}, built as "
                       f"`build/{d.name}/{p.stem}`.\n*/\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    ap.add_argument("--root", type=Path, default=here.parent)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--timelines", type=Path, default=None,
                    help="where tools/timeline wrote timeline_<lesson>.html pages to embed")
    args = ap.parse_args()
    root = args.root.resolve()
    out = args.out or root / "build" / "docs" / "pages"
    out.mkdir(parents=True, exist_ok=True)
    docs = root / "docs"
    lesson_list = lessons(root)
    linker = Linker(root, lesson_list)
    titles = {n: lesson_title(n, name, d) for n, name, d in lesson_list}
    short = {n: re.split(r"\s+[—–-]+\s+", t)[0] for n, t in titles.items()}
    files = {"index.md": main_page(root, lesson_list, titles, linker, docs),
             "examples.dox": examples(lesson_list)}
    for i, (num, _, _) in enumerate(lesson_list):
        files[f"lesson_{num}.md"] = lesson_page(i, lesson_list, titles, short, linker, docs,
                                                args.timelines)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
