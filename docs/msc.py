"""msc.py - a \\msc sequence chart drawn as inline SVG, for the Chinese site.

Doxygen 1.9.4 draws \\msc charts with its built-in mscgen, whose fonts have
Latin letters only: Chinese labels come out as mojibake in its PNGs, and
squeezed to a Latin width in its SVGs. The Chinese site's charts
(docs/diagrams/zh/lesson_NN.msc) are drawn here instead, as SVG whose text
the browser lays out in whatever font has the glyphs. The same subset of
mscgen the English charts use: options (hscale), entities with labels, arcs
-> (a message), => (a call), >> (a return), -x (lost), boxes (box, rbox,
abox, note), and ... (time passes), ||| (space), --- (a separator).

parse(text) gives the chart's parts (the tests compare the two languages'
charts with it); svg(text) gives the HTML that lesson-pages.py puts in the
page, in Doxygen's own <div class="mscgraph"> with the caption under it.
"""
import html
import re

WIDTH = 600            # px for hscale 1, as mscgen
FONT = 12              # px
LINE = 16              # px per line of a label
LATIN, WIDE = 7.0, 12.5  # px per character: a Latin one, a Chinese one (estimates for box sizes)
ARCS = ("->", "=>", ">>", "-x", "<-", "<=", "<<", "x-")
BOXES = ("box", "rbox", "abox", "note")
STATEMENT = re.compile(r'((?:[^;"]|"(?:[^"\\]|\\.)*")*);')
ATTR = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


class MscError(ValueError):
    """The chart uses what this subset does not draw."""


def unquote(s):
    return s.replace('\\"', '"').replace("\\n", "\n")


def parse(text):
    """{"caption", "hscale", "entities": [(id, label)], "rows": [(kind, a, b, label)]}
    of a \\msc "caption" ... \\endmsc block (or of its body alone)."""
    m = re.search(r'\\msc(?:\s+"((?:[^"\\]|\\.)*)")?\s*\n(.*?)\\endmsc', text, re.S)
    caption, body = (unquote(m.group(1) or ""), m.group(2)) if m else ("", text)
    chart = {"caption": caption, "hscale": 1.0, "entities": [], "rows": []}
    for st in (s.strip() for s in STATEMENT.findall(body)):
        if not st:
            continue
        attrs = dict((k, unquote(v)) for k, v in ATTR.findall(st))
        head = re.sub(r"\[.*\]", "", st, flags=re.S).strip()
        label = attrs.get("label", "")
        if re.fullmatch(r'(\w+\s*=\s*"[^"]*"\s*,?\s*)+', st):
            chart["hscale"] = float(attrs.get("hscale", chart["hscale"]))
        elif head in ("...", "|||", "---"):
            chart["rows"].append((head, None, None, label))
        elif not chart["entities"]:
            for part in re.findall(r'(\w+)\s*(?:\[([^\]]*)\])?', st):
                lab = dict((k, unquote(v)) for k, v in ATTR.findall(part[1])).get("label", part[0])
                chart["entities"].append((part[0], lab))
        else:
            m = re.fullmatch(r"(\w+)\s*(%s)\s*(\w+)" % "|".join(
                [re.escape(a) for a in ARCS] + [r"\b%s\b" % b for b in BOXES]), head)
            if not m:
                raise MscError("cannot draw %r" % st)
            a, kind, b = m.groups()
            if kind in ("<-", "<=", "<<", "x-"):       # b->a written backwards
                a, b, kind = b, a, {"<-": "->", "<=": "=>", "<<": ">>", "x-": "-x"}[kind]
            chart["rows"].append((kind, a, b, label))
    ids = [e[0] for e in chart["entities"]]
    for kind, a, b, _ in chart["rows"]:
        for e in (a, b):
            if e is not None and e not in ids:
                raise MscError("no entity %r (entities: %s)" % (e, ", ".join(ids)))
    return chart


def text_width(s):
    return max((sum(WIDE if ord(c) >= 0x2e80 else LATIN for c in line)
                for line in s.split("\n")), default=0)


def lines_of(s):
    return s.split("\n") if s else []


def text(x, y, s, anchor="middle", cls="t"):
    """SVG text, one <tspan> a line, the first line's baseline at Y."""
    spans = "".join('<tspan x="%.1f" dy="%d">%s</tspan>' % (x, 0 if k == 0 else LINE,
                                                             html.escape(line))
                    for k, line in enumerate(lines_of(s)))
    return '<text class="%s" x="%.1f" y="%.1f" text-anchor="%s">%s</text>' % (cls, x, y, anchor,
                                                                              spans)


def svg(source):
    """The chart of SOURCE as HTML: an inline <svg> in a div.mscgraph, captioned."""
    chart = parse(source)
    ids = [e[0] for e in chart["entities"]]
    n = len(ids)
    width = WIDTH * chart["hscale"]
    # Wide enough for each entity's label in its column, and each box's text.
    width = max([width] + [(text_width(lab) + 16) * n for _, lab in chart["entities"]] +
                [text_width(r[3]) + 24 for r in chart["rows"] if r[0] in BOXES])
    cell = width / n
    x = {e: cell * (k + 0.5) for k, e in enumerate(ids)}
    out, y = [], 8
    for e, lab in chart["entities"]:
        out.append(text(x[e], y + FONT, lab, cls="t ent"))
    y += max(len(lines_of(lab)) for _, lab in chart["entities"]) * LINE + 8
    top, dotted = y, []
    for kind, a, b, label in chart["rows"]:
        nl = max(1, len(lines_of(label)))
        if kind in ("...", "|||"):
            h = 24 if kind == "..." else 16
            if kind == "...":
                dotted.append((y, y + h))
            y += h
        elif kind == "---":
            out.append('<line class="sep" x1="0" y1="%.1f" x2="%.1f" y2="%.1f"/>' % (y + 12, width, y + 12))
            if label:
                out.append(text(width / 2, y + 16, label, cls="t lab"))
            y += 24
        elif kind in BOXES:
            h = nl * LINE + 10
            w = max(cell - 16, min(width - 8, text_width(label) + 16))
            left = min(max(4, (x[a] + x[b]) / 2 - w / 2), width - 4 - w)
            if b != a:
                left, w = min(x[a], x[b]) - cell / 2 + 8, abs(x[b] - x[a]) + cell - 16
            y0 = y + 4
            if kind == "note":
                c = 8
                out.append('<path class="box" d="M%.1f,%.1f H%.1f L%.1f,%.1f V%.1f H%.1f Z"/>'
                           % (left, y0, left + w - c, left + w, y0 + c, y0 + h, left))
                out.append('<path class="box" d="M%.1f,%.1f V%.1f H%.1f"/>'
                           % (left + w - c, y0, y0 + c, left + w))
            else:
                rx = {"box": 0, "rbox": 6, "abox": 0}[kind]
                out.append('<rect class="box" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%d"/>'
                           % (left, y0, w, h, rx))
            out.append(text(left + w / 2, y0 + 4 + FONT, label, cls="t lab"))
            y = y0 + h + 6
        else:
            y_line = y + nl * LINE + 6
            x1, x2 = x[a], x[b]
            if label:
                mid = (x1 + x2) / 2 if a != b else x1 + 40
                half = text_width(label) / 2 + 4
                mid = min(max(mid, half), width - half)
                out.append(text(mid, y + FONT, label, cls="t lab"))
            dash = ' stroke-dasharray="5 4"' if kind == ">>" else ""
            if a == b:
                out.append('<path class="arc" d="M%.1f,%.1f h30 v10 h-28"%s/>'
                           % (x1, y_line - 5, dash))
                x2, y_end, x_from = x1 + 2, y_line + 5, x1 + 30
            else:
                x_end = x2 if kind != "-x" else x1 + (x2 - x1) * 0.75
                out.append('<line class="arc" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"%s/>'
                           % (x1, y_line, x_end, y_line, dash))
                x2, y_end, x_from = x_end, y_line, x1
            if kind == "-x":
                out.append('<path class="arc" d="M%.1f,%.1f l8,8 m0,-8 l-8,8"/>' % (x2 - 4, y_end - 4))
            else:
                d = -10 if x2 > x_from else 10
                if kind == "=>":        # a call: a filled head
                    out.append('<path class="head" d="M%.1f,%.1f l%d,-5 v10 Z"/>' % (x2, y_end, d))
                else:                   # a message or a return: an open one
                    out.append('<path class="open" d="M%.1f,%.1f l%d,-5 M%.1f,%.1f l%d,5"/>'
                               % (x2, y_end, d, x2, y_end, d))
            y = y_line + 8
    bottom = y + 6
    lifelines = []
    for e in ids:
        segments, start = [], top
        for d0, d1 in dotted:
            segments.append((start, d0, ""))
            segments.append((d0, d1, ' stroke-dasharray="2 3"'))
            start = d1
        segments.append((start, bottom, ""))
        for s0, s1, style in segments:
            lifelines.append('<line class="life" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"%s/>'
                             % (x[e], s0, x[e], s1, style))
    style = ("<style>.msc .t{font:%dpx sans-serif;fill:#000;paint-order:stroke;stroke:#fff;"
             "stroke-width:4px;stroke-linejoin:round}.msc .ent{font-weight:bold}"
             ".msc .life,.msc .arc,.msc .sep{stroke:#000;stroke-width:1;fill:none}"
             ".msc .sep{stroke-dasharray:6 4}.msc .box{fill:#fff;stroke:#000}"
             ".msc .head{fill:#000;stroke:#000}.msc .open{fill:none;stroke:#000}</style>" % FONT)
    caption = html.escape(chart["caption"])
    return ('<div class="mscgraph">\n<svg class="msc" xmlns="http://www.w3.org/2000/svg" '
            'role="img" aria-label="%s" width="%d" height="%d" viewBox="0 0 %d %d" '
            'style="max-width:100%%;height:auto">%s<title>%s</title>%s%s</svg>\n'
            '<div class="caption">\n%s</div>\n</div>\n'
            % (caption, width, bottom, width, bottom, style, caption, "".join(lifelines),
               "".join(out), caption))
