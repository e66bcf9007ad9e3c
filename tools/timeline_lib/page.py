"""page.py - the timeline as one self-contained HTML page.

Everything is inline: the style, the script that draws the SVG, and the data
(<script type="application/json" id="timeline-data">), which tests and other
tools can read back with read_data(). No external file, font or script.
"""
import html
import json
import re

from . import words

DATA_ID = "timeline-data"


def embed_json(data):
    """JSON that is safe inside <script>: no '</' can close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def read_data(page_text):
    """The data embedded in a page written by write_page()."""
    m = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % DATA_ID,
                  page_text, re.S)
    if not m:
        raise ValueError("no timeline data in this page")
    return json.loads(m.group(1))


def render(data):
    """The page of DATA, in the language DATA["lang"] names (English by default)."""
    lang = data.get("lang", "en")
    w = words.page_words(lang, {i["text"] for i in data["items"] if i["kind"] == "note"} |
                         {i["trace"]["note"] for i in data["items"]
                          if i["kind"] == "call" and i["trace"].get("note")})
    data = dict(data, words=w)
    title = html.escape(data.get("title", "timeline"))
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in data.get("notes", []))
    cmds = "".join(
        f'<div><b>{w[lane]}</b> <code>{html.escape(" ".join(data.get(lane + "_argv", [])))}</code>'
        f' &rarr; {w["exit"]} {html.escape(str(data.get(lane + "_status", "?")))}</div>'
        for lane in ("server", "client") if lane + "_argv" in data)
    c = data["counts"]
    summary = html.escape(w["summary"].format(**c) +
                          (w["summary_retrans"].format(n=c["retransmissions"])
                           if c["retransmissions"] else "") +
                          (w["summary_lost"].format(n=c["lost"]) if c["lost"] else ""))
    if data.get("netem"):
        summary += html.escape(w["summary_netem"]) + "<code>netem %s</code>" % html.escape(
            data["netem"])
    text = PAGE
    for key in ("zoom", "zoom_in", "zoom_out", "reset", "reset_title", "time", "gaps", "linear",
                "acks", "legend_data", "legend_bad", "legend_call", "legend_watched", "hint",
                "noscript", "html_lang"):
        text = text.replace("@W_%s@" % key, html.escape(w[key]))
    return (text.replace("@TITLE@", title).replace("@NOTES@", notes)
            .replace("@CMDS@", cmds).replace("@SUMMARY@", summary)
            .replace("@DATA_ID@", DATA_ID).replace("@DATA@", embed_json(data)))


def write_page(data, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(data))


PAGE = r"""<!DOCTYPE html>
<html lang="@W_html_lang@">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fff; }
header { padding: 10px 16px; background: #f3f5f9; border-bottom: 1px solid #d5dae3; }
h1 { font-size: 18px; margin: 0 0 4px; }
code { font: 12px ui-monospace, monospace; overflow-wrap: anywhere; }
.note { background: #fff4d6; border: 1px solid #e8c25a; padding: 4px 8px; margin: 6px 0; }
#controls { margin-top: 6px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
#controls button { font: inherit; padding: 1px 9px; }
.legend span { margin-right: 10px; white-space: nowrap; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 4px; }
.legend i.bar { width: 6px; height: 14px; border-radius: 3px; background: #1d2330; }
.legend i.watched { width: 18px; height: 10px; border: 1px dashed #3a6fd8; background: #e7f0ff; }
#chart { overflow-x: hidden; }
svg text { font: 12px ui-monospace, monospace; paint-order: stroke; stroke: #fff;
  stroke-width: 3px; stroke-linejoin: round; }
svg .lane { stroke: #5b6b86; stroke-width: 2; }
svg .wire { stroke: #d5dae3; stroke-width: 1; stroke-dasharray: 4 4; }
svg .lanehead { font: bold 14px system-ui, sans-serif; fill: #1d2330; }
svg .tlabel { fill: #8a93a3; font-size: 11px; }
svg .call { fill: #1d2330; }
svg .call.err { fill: #c0262d; }
svg .bar { fill: #1d2330; }
svg .bar.err { fill: #c0262d; }
svg .waits { fill: #5b6b86; font-size: 11px; font-style: italic; }
svg .state rect { fill: #e7f0ff; stroke: #3a6fd8; }
svg .state.watched rect { stroke-dasharray: 3 2; }
svg .state text { fill: #1f4fb5; font-size: 11px; }
svg .lasts { stroke: #3a6fd8; stroke-width: 4; stroke-dasharray: 2 5; }
svg .laststext { fill: #1f4fb5; font-size: 11px; }
svg .pkt text { font-size: 11px; }
svg .notetext { fill: #6b4fa8; font-style: italic; font-size: 11px; }
svg .idle { fill: #8a93a3; font-size: 11px; font-style: italic; }
svg .hit { cursor: pointer; }
svg .hit:hover text, svg .sel text { font-weight: bold; }
#details { position: fixed; right: 10px; bottom: 10px; max-width: 46%; max-height: 40%;
  overflow: auto; background: #fffffff0; border: 1px solid #9aa5b8; padding: 8px 10px;
  box-shadow: 0 2px 8px #0003; display: none; white-space: pre-wrap; font: 12px ui-monospace, monospace; }
</style>
</head>
<body>
<header>
<h1>@TITLE@</h1>
@CMDS@
<div>@SUMMARY@</div>
@NOTES@
<div id="controls">
 <span>@W_zoom@ <button id="zout" title="@W_zoom_out@">&minus;</button> <button id="zin" title="@W_zoom_in@">+</button>
 <button id="zfit" title="@W_reset_title@">@W_reset@</button></span>
 <label>@W_time@ <select id="mode"><option value="gaps">@W_gaps@</option>
   <option value="linear">@W_linear@</option></select></label>
 <label><input type="checkbox" id="acks" checked> @W_acks@</label>
 <span class="legend"><span><i class="bar"></i>@W_legend_call@</span>
 <span><i class="watched"></i>@W_legend_watched@</span>
 <span><i style="background:#2e9d4a"></i>SYN</span><span><i style="background:#2f6fd6"></i>@W_legend_data@</span>
 <span><i style="background:#8a93a3"></i>ACK</span><span><i style="background:#e07b00"></i>FIN</span>
 <span><i style="background:#c0262d"></i>@W_legend_bad@</span></span>
 <span>@W_hint@</span>
</div>
<noscript><p class="note">@W_noscript@</p></noscript>
</header>
<div id="chart"></div>
<div id="details"></div>
<script type="application/json" id="@DATA_ID@">@DATA@</script>
<script>
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("@DATA_ID@").textContent);
  var items = data.items, words = data.words || {};
  var zoom = 1, mode = "gaps", showAcks = true, pinned = null;
  var NS = "http://www.w3.org/2000/svg";
  // Rows: a labelled instant (a call's return, a packet, a state) takes ROW px,
  // an instant without a label (a call's start, an arrival) SMALL; idle gaps add
  // up to GAP (log scale) and are marked when longer than IDLE seconds.
  var TOP = 56, ROW = 20, SMALL = 6, GAP = 40, IDLE = 0.05, MINW = 640, WAITED = 0.001;
  var COLOR = { SYN: "#2e9d4a", data: "#2f6fd6", ACK: "#8a93a3", FIN: "#e07b00", RST: "#c0262d" };
  var W, SX, CX, TW, charW = 7.2, wideW = 12;

  function say(key, args) {
    var s = words[key] !== undefined ? words[key] : key;
    for (var k in args || {}) s = s.split("{" + k + "}").join(args[k]);
    return s;
  }
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /* Text widths: a CJK character (the seed's messages are Chinese) is wider
   * than a Latin one; both measured once in the page's own font. */
  function measure(svg) {
    var a = el("text", { x: 0, y: -100 }, "0000000000"), b = el("text", { x: 0, y: -100 }, "\u8d85\u8d85\u8d85\u8d85\u8d85");
    svg.appendChild(a); svg.appendChild(b);
    charW = a.getComputedTextLength() / 10 || charW;
    wideW = b.getComputedTextLength() / 5 || wideW;
    svg.removeChild(a); svg.removeChild(b);
  }
  function width(t, size) {
    var w = 0;
    for (var k = 0; k < t.length; k++) w += t.charCodeAt(k) >= 0x2e80 ? wideW : charW;
    return w * (size || 12) / 12;
  }
  /* Cut text to PX pixels, with an ellipsis: a label never runs into the next column. */
  function fit(t, px, size) {
    if (width(t, size) <= px) return t;
    var k = t.length;
    while (k > 0 && width(t.slice(0, k) + "\u2026", size) > px) k--;
    return t.slice(0, k) + "\u2026";
  }
  function kind(p) {
    if (p.flags.indexOf("RST") >= 0) return "RST";
    if (p.flags.indexOf("SYN") >= 0) return "SYN";
    if (p.flags.indexOf("FIN") >= 0) return "FIN";
    return p.len ? "data" : "ACK";
  }
  function plabel(p) {
    var f = p.flags, word;
    if (f.indexOf("RST") >= 0) word = "RST";
    else if (f.indexOf("SYN") >= 0) word = f.indexOf("ACK") >= 0 ? "SYN-ACK" : "SYN";
    else if (f.indexOf("FIN") >= 0) word = "FIN";
    else return p.len ? say("data", { n: p.len }) : "ACK";
    return word + (p.len ? say("plus_data", { n: p.len }) : "");
  }
  function ms(t) { return "+" + (t * 1000).toFixed(3) + " ms"; }
  function visible(i) { return showAcks || i.kind !== "packet" || kind(i) !== "ACK"; }
  function stepLabel(i) {
    var s = words.steps;
    if (!s || !i.label) return i.label || "";
    return (s[i.lane] && s[i.lane][i.label]) || (s.any && s.any[i.label]) || i.label;
  }
  function noteText(t) { return (words.notes && words.notes[t]) || t; }

  function geometry() {
    var chart = document.getElementById("chart");
    W = Math.max(MINW, Math.floor(chart.clientWidth || 1000));
    TW = Math.ceil(width("+00000.000 ms", 11)) + 12;
    var side = Math.round((W - TW) * 0.34);
    SX = TW + side;
    CX = W - side;
  }

  // Time -> y. In "gaps" mode every distinct instant gets its own row; in
  // "linear" mode y is to scale.
  function scale(shown) {
    var marks = new Map();
    function mark(t, labelled) { if (t != null) marks.set(t, marks.get(t) || labelled); }
    shown.forEach(function (i) {
      mark(i.t, true);
      mark(i.t_start, false);
      mark(i.t_arrive, false);
    });
    var uniq = Array.from(marks.keys()).sort(function (a, b) { return a - b; });
    var ys = [], idles = [], y = TOP + 30, span = uniq.length ? uniq[uniq.length - 1] - uniq[0] : 0;
    var perSec = span > 0 ? Math.max(2000, uniq.length * ROW) / span : 0;
    uniq.forEach(function (t, k) {
      if (k > 0) {
        var gap = t - uniq[k - 1], before = y;
        if (mode === "linear") y += zoom * gap * perSec;
        else {
          y += zoom * ((marks.get(t) ? ROW : SMALL) +
                       GAP * Math.min(1, Math.log(1 + gap * 1e4) / Math.log(1e4)));
          if (gap > IDLE) idles.push([before, y, gap]);
        }
      }
      ys.push(y);
    });
    function at(t) {
      var lo = 0, hi = uniq.length - 1;
      while (lo < hi) { var m = (lo + hi) >> 1; if (uniq[m] < t) lo = m + 1; else hi = m; }
      return ys[lo];
    }
    return { at: at, end: y + 40, idles: idles };
  }

  function show(i, pin) {
    var box = document.getElementById("details");
    if (!i) { box.style.display = "none"; return; }
    var s, head = i.lane ? "[" + say(i.lane) + "] " : "";
    if (i.kind === "call") {
      var took = i.t_end - i.t_start;
      s = head + say("started") + " " + ms(i.t_start) + ", " + say("returned") + " " + ms(i.t_end) +
          " (" + say("waited") + " " + (took * 1000).toFixed(3) + " ms)\n" +
          say("step") + " " + i.step + " " + stepLabel(i) + "\n" +
          i.text + " = " + i.ret + (i.errno ? "  " + i.errno + " (" + i.error + ")" : "") +
          (i.trace.note ? "\n" + noteText(i.trace.note) : "") +
          "\n\n" + say("trace_line") + ":\n" + JSON.stringify(i.trace);
    } else if (i.kind === "note") {
      s = head + ms(i.t) + "  " + noteText(i.text) + "\n\n" + say("trace_line") + ":\n" + JSON.stringify(i.trace);
    } else if (i.kind === "state" && i.watched) {
      s = head + ms(i.t) + "  " + say("connection") + " " + i.conn + ": " + (i.from || say("new")) +
          " -> " + i.to + "\n" + say("watched", { a: ms(i.t_before), b: ms(i.t_seen) }) +
          (i.lasts ? "\n" + say("time_wait", { end: (i.t + i.lasts).toFixed(3) }) : "");
    } else if (i.kind === "state") {
      s = head + ms(i.t) + "  fd " + i.fd + ": " + (i.from || say("new")) + " -> " + i.to +
          "\n(" + say("kernel_view") + ")\n\n" + say("trace_line") + ":\n" + JSON.stringify(i.trace);
    } else {
      s = say(i.from) + " -> " + say(i.to) + "  " + plabel(i) + (i.retransmission ? "  " + say("RETRANSMISSION") : "") +
          "\n" + i.src + " -> " + i.dst + "\n" + say("flags") + " " + i.flags.join(",") + "  " +
          say("length") + " " + i.len + "  " + say("window") + " " + i.window +
          "\n" + say("seq") + " " + i.rel_seq + " (" + say("raw") + " " + i.seq + ")" +
          (i.rel_ack != null ? "  " + say("ack") + " " + i.rel_ack + " (" + say("raw") + " " + i.ack + ")" : "") +
          "\n" + say("sent") + " " + ms(i.t) + (i.lost ? "  " + say("lost_detail") :
          (i.t_arrive != null && i.t_arrive !== i.t ? "  " + say("arrived") + " " + ms(i.t_arrive) : "")) +
          "\n" + say("captured") + " " + i.ts_text + (i.payload ? "\n" + say("payload") + ": " + JSON.stringify(i.payload) : "");
    }
    box.textContent = s + (pin ? "\n\n" + say("unpin") : "");
    box.style.display = "block";
  }

  function hit(g, i) {
    g.setAttribute("class", (g.getAttribute("class") || "") + " hit");
    g.addEventListener("mouseenter", function () { if (!pinned) show(i, false); });
    g.addEventListener("mouseleave", function () { if (!pinned) show(null); });
    g.addEventListener("click", function () {
      if (pinned) pinned.g.classList.remove("sel");
      pinned = pinned && pinned.i === i ? null : { i: i, g: g };
      if (pinned) g.classList.add("sel");
      show(pinned ? i : null, true);
    });
  }

  /* Labels never sit on one another. Each label has places to try, best
   * first (along its arrow, beside its row); in order of importance (calls,
   * states, packets, notes, waits, idle gaps, times) each takes the first
   * place that is free and inside the drawing, or is left out (its item still
   * shows its details on hover). Boxes are read first, then moved. */
  function place(labels) {
    var boxes = labels.map(function (l) { return l.el.getBBox(); });
    var grid = new Map(), CELL = 40;
    function keys(b) {
      var out = [];
      for (var k = Math.floor(b.y1 / CELL); k <= Math.floor(b.y2 / CELL); k++) out.push(k);
      return out;
    }
    function free(b) {
      return keys(b).every(function (k) {
        return (grid.get(k) || []).every(function (o) {
          return b.x2 <= o.x1 || o.x2 <= b.x1 || b.y2 <= o.y1 || o.y2 <= b.y1;
        });
      });
    }
    var order = labels.map(function (l, k) { return k; });
    order.sort(function (a, b) { return labels[a].prio - labels[b].prio || a - b; });
    var moves = [];
    order.forEach(function (k) {
      var l = labels[k], bb = boxes[k];
      for (var c = 0; c < l.cand.length; c++) {
        var dx = l.cand[c][0], dy = l.cand[c][1];
        var b = { x1: bb.x + dx - 1, y1: bb.y + dy - 1, x2: bb.x + bb.width + dx + 1, y2: bb.y + bb.height + dy + 1 };
        if (b.x1 < 0 || b.x2 > W) continue;
        if (free(b)) {
          keys(b).forEach(function (key) { if (!grid.has(key)) grid.set(key, []); grid.get(key).push(b); });
          if (dx || dy) moves.push([l.el, "transform", "translate(" + dx + "," + dy + ")"]);
          return;
        }
      }
      moves.push([l.el, "display", "none"]);
    });
    moves.forEach(function (m) { m[0].setAttribute(m[1], m[2]); });
  }
  var BESIDE = [[0, 0], [0, -7], [0, 7], [0, -14], [0, 14]];
  var ACROSS = [[0, 0], [-70, 0], [70, 0], [-120, 0], [120, 0], [0, -9], [0, 9]];

  function draw() {
    geometry();
    var shown = items.filter(visible), sc = scale(shown);
    var lasting = shown.some(function (i) { return i.lasts; });
    var H = sc.end + (lasting ? 30 : 0);
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, id: "timeline-svg" });
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";
    var chart = document.getElementById("chart");
    chart.textContent = "";
    chart.appendChild(svg);
    measure(svg);
    var labels = [];
    function label(e, prio, cand) { labels.push({ el: e, prio: prio, cand: cand || [[0, 0]] }); return e; }
    var defs = el("defs", {});
    Object.keys(COLOR).forEach(function (k) {
      var m = el("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5,
                             markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      m.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: COLOR[k] }));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
    var MID = (SX + CX) / 2;
    svg.appendChild(el("line", { x1: SX, y1: TOP, x2: SX, y2: H, "class": "lane" }));
    svg.appendChild(el("line", { x1: CX, y1: TOP, x2: CX, y2: H, "class": "lane" }));
    svg.appendChild(el("line", { x1: MID, y1: TOP, x2: MID, y2: H, "class": "wire" }));
    var wire = data.netem ? say("wire_netem", { netem: data.netem }) :
               data.drop ? say("wire_router", { n: data.drop }) : say("wire");
    label(svg.appendChild(el("text", { x: SX, y: TOP - 14, "text-anchor": "middle", "class": "lanehead" }, say("server"))), -1);
    label(svg.appendChild(el("text", { x: MID, y: TOP - 32, "text-anchor": "middle", "class": "lanehead" },
                             fit(wire, CX - SX + 60, 14))), -1);
    label(svg.appendChild(el("text", { x: CX, y: TOP - 14, "text-anchor": "middle", "class": "lanehead" }, say("client"))), -1);
    sc.idles.forEach(function (g) {
      label(svg.appendChild(el("text", { x: MID, y: (g[0] + g[1]) / 2 + 4, "text-anchor": "middle", "class": "idle" },
                               say("idle", { ms: (g[2] * 1000).toFixed(1) }))), 5, ACROSS);
    });
    var lastRow = null;
    shown.forEach(function (i) {
      var y = sc.at(i.t), g = el("g", {}), left, x;
      if (y !== lastRow) {
        label(svg.appendChild(el("text", { x: 4, y: y + 4, "class": "tlabel" }, ms(i.t))), 6);
        lastRow = y;
      }
      if (i.kind === "call") {
        left = i.lane === "server";
        x = left ? SX : CX;
        var y1 = sc.at(i.t_start != null ? i.t_start : i.t), err = i.errno ? " err" : "";
        g.setAttribute("class", "callg");
        g.appendChild(el("rect", { x: x - 3, y: Math.min(y1, y - 2), width: 6, height: Math.max(4, y - y1), rx: 2,
                                   "class": "bar" + err }));
        var room = left ? SX - 10 - TW : W - CX - 14;
        var t = fit(i.text + " = " + i.ret + (i.errno ? " " + i.errno : ""), room);
        label(g.appendChild(el("text", { x: left ? x - 10 : x + 10, y: y + 4, "text-anchor": left ? "end" : "start",
                                         "class": "call" + err }, t)), 0);
        if (i.t_end - i.t_start >= WAITED && y - y1 >= 2 * ROW) {
          label(g.appendChild(el("text", { x: left ? x - 10 : x + 10, y: (y1 + y) / 2 + 4,
                                           "text-anchor": left ? "end" : "start", "class": "waits" },
                                 say("waits", { ms: ((i.t_end - i.t_start) * 1000).toFixed(1) }))), 4, BESIDE);
        }
      } else if (i.kind === "note") {
        left = i.lane === "server";
        x = left ? SX : CX;
        label(g.appendChild(el("text", { x: left ? x - 10 : x + 10, y: y + 4, "class": "notetext",
                                         "text-anchor": left ? "end" : "start" },
                               fit("\u2139 " + noteText(i.text), left ? SX - 10 - TW : W - CX - 14, 11))), 3, BESIDE);
      } else if (i.kind === "state") {
        left = i.lane === "server";
        var sx = left ? SX + 8 : CX - 8, w = 8 + width(i.to, 11);
        var box = el("g", { "class": "state" + (i.watched ? " watched" : "") });
        box.appendChild(el("rect", { x: left ? sx : sx - w, y: y - 8, width: w, height: 15, rx: 4 }));
        box.appendChild(el("text", { x: left ? sx + 4 : sx - 4, y: y + 3,
                                     "text-anchor": left ? "start" : "end" }, i.to));
        g.appendChild(box);
        label(box, 1, BESIDE);
        if (i.lasts) {
          x = left ? SX : CX;
          svg.insertBefore(el("line", { x1: x, y1: y + 8, x2: x, y2: H - 4, "class": "lasts" }), svg.firstChild.nextSibling);
          label(g.appendChild(el("text", { x: left ? x + 8 : x - 8, y: H - 10, "text-anchor": left ? "start" : "end",
                                           "class": "laststext" },
                                 fit(say("lasts", { state: i.to, s: i.lasts.toFixed(1),
                                                    end: (i.t + i.lasts).toFixed(3) }), CX - SX - 16, 11))),
                2, [[0, 0], [0, -14], [0, -28]]);
        }
      } else {
        var k = kind(i), col = i.retransmission || i.lost ? COLOR.RST : COLOR[k];
        var x1 = i.from === "server" ? SX : CX, x2 = i.from === "server" ? CX : SX;
        var y2 = i.t_arrive != null ? sc.at(i.t_arrive) : y;
        if (i.lost) { x2 = MID; y2 = y + Math.max(ROW, (y2 - y) / 2); }
        g.setAttribute("class", "pkt");
        g.appendChild(el("line", { x1: x1, y1: y, x2: x2, y2: y2, stroke: col, "stroke-width": k === "ACK" ? 1.5 : 2.5,
                                   "stroke-dasharray": i.retransmission ? "6 3" : "none",
                                   "marker-end": i.lost ? "none" : "url(#arrow-" + k + ")" }));
        if (i.lost) {
          label(g.appendChild(el("text", { x: x2, y: y2 + 5, "text-anchor": "middle", fill: COLOR.RST,
                                           style: "font-size:16px;font-weight:bold" }, "\u2715")), 1);
        }
        // Places along the arrow, above it, then below it.
        var lx = (x1 + x2) / 2, ly = (y + y2) / 2 - 4, cand = [];
        [0.5, 0.38, 0.62, 0.26, 0.74].forEach(function (s) {
          var px = x1 + (x2 - x1) * s, py = y + (y2 - y) * s;
          cand.push([px - lx, py - 4 - ly], [px - lx, py + 13 - ly]);
        });
        label(g.appendChild(el("text", { x: lx, y: ly, "text-anchor": "middle", fill: col },
                               plabel(i) + (i.retransmission ? say("retransmission") : "") + (i.lost ? say("lost") : ""))),
              2, cand);
        // A wide invisible line: an easy target for the mouse.
        g.appendChild(el("line", { x1: x1, y1: y, x2: x2, y2: y2, stroke: "transparent", "stroke-width": 10 }));
      }
      hit(g, i);
      svg.appendChild(g);
    });
    place(labels);
  }

  document.getElementById("zin").onclick = function () { zoom = Math.min(zoom * 1.5, 20); draw(); };
  document.getElementById("zout").onclick = function () { zoom = Math.max(zoom / 1.5, 0.05); draw(); };
  document.getElementById("zfit").onclick = function () { zoom = 1; draw(); window.scrollTo(0, 0); };
  document.getElementById("mode").onchange = function (e) { mode = e.target.value; draw(); };
  document.getElementById("acks").onchange = function (e) { showAcks = e.target.checked; draw(); };
  var resized = null;
  window.addEventListener("resize", function () { clearTimeout(resized); resized = setTimeout(draw, 150); });
  draw();
})();
</script>
</body>
</html>
"""
