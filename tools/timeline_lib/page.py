"""page.py - the timeline as one self-contained HTML page.

Everything is inline: the style, the script that draws the SVG, and the data
(<script type="application/json" id="timeline-data">), which tests and other
tools can read back with read_data(). No external file, font or script.
"""
import html
import json
import re

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
    title = html.escape(data.get("title", "timeline"))
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in data.get("notes", []))
    cmds = "".join(
        f'<div><b>{lane}</b> <code>{html.escape(" ".join(data.get(lane + "_argv", [])))}</code>'
        f' &rarr; exit {html.escape(str(data.get(lane + "_status", "?")))}</div>'
        for lane in ("server", "client"))
    c = data["counts"]
    summary = (f'{c["calls"]} calls, {c["states"]} state changes, {c["packets"]} packets'
               f'{", %d retransmitted" % c["retransmissions"] if c["retransmissions"] else ""}'
               f'{", %d lost on the way" % c["lost"] if c["lost"] else ""}')
    if data.get("netem"):
        summary += " &middot; network: <code>netem %s</code>" % html.escape(data["netem"])
    return (PAGE.replace("@TITLE@", title).replace("@NOTES@", notes)
            .replace("@CMDS@", cmds).replace("@SUMMARY@", summary)
            .replace("@DATA_ID@", DATA_ID).replace("@DATA@", embed_json(data)))


def write_page(data, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(data))


PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fff; }
header { padding: 10px 16px; background: #f3f5f9; border-bottom: 1px solid #d5dae3; }
h1 { font-size: 18px; margin: 0 0 4px; }
code { font: 12px ui-monospace, monospace; }
.note { background: #fff4d6; border: 1px solid #e8c25a; padding: 4px 8px; margin: 6px 0; }
#controls { margin-top: 6px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
#controls button { font: inherit; padding: 1px 9px; }
.legend span { margin-right: 10px; white-space: nowrap; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 4px; }
#chart { overflow: auto; }
svg text { font: 12px ui-monospace, monospace; }
svg .lane { stroke: #5b6b86; stroke-width: 2; }
svg .wire { stroke: #d5dae3; stroke-width: 1; stroke-dasharray: 4 4; }
svg .lanehead { font: bold 14px system-ui, sans-serif; fill: #1d2330; }
svg .tlabel { fill: #8a93a3; font-size: 11px; }
svg .call { fill: #1d2330; }
svg .call.err { fill: #c0262d; }
svg .state rect { fill: #e7f0ff; stroke: #3a6fd8; }
svg .state text { fill: #1f4fb5; font-size: 11px; }
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
 <span>zoom <button id="zout" title="zoom out">&minus;</button> <button id="zin" title="zoom in">+</button>
 <button id="zfit" title="back to the start">reset</button></span>
 <label>time <select id="mode"><option value="gaps">idle gaps shortened</option>
   <option value="linear">to scale</option></select></label>
 <label><input type="checkbox" id="acks" checked> bare ACKs</label>
 <span class="legend"><span><i style="background:#2e9d4a"></i>SYN</span><span><i style="background:#2f6fd6"></i>data</span>
 <span><i style="background:#8a93a3"></i>ACK</span><span><i style="background:#e07b00"></i>FIN</span>
 <span><i style="background:#c0262d"></i>RST, retransmission, loss</span></span>
 <span>hover or click anything for its details</span>
</div>
<noscript><p class="note">The drawing needs JavaScript; the data is in this page as JSON.</p></noscript>
</header>
<div id="chart"></div>
<div id="details"></div>
<script type="application/json" id="@DATA_ID@">@DATA@</script>
<script>
"use strict";
(function () {
  /* Cut text to at most n columns: a CJK character takes two (the seed's
   * messages are Chinese), so a label never runs into the time column. */
  function fit(t, n) {
    var w = 0;
    for (var k = 0; k < t.length; k++) {
      w += t.charCodeAt(k) >= 0x2e80 ? 2 : 1;
      if (w > n - 1) return t.slice(0, k) + "\u2026";
    }
    return t;
  }

  var data = JSON.parse(document.getElementById("@DATA_ID@").textContent);
  var items = data.items, zoom = 1, mode = "gaps", showAcks = true, pinned = null;
  var NS = "http://www.w3.org/2000/svg";
  var W = 1160, SX = 380, CX = 780, TOP = 50, ROW = 20, GAP = 40, IDLE = 0.05;
  var COLOR = { SYN: "#2e9d4a", data: "#2f6fd6", ACK: "#8a93a3", FIN: "#e07b00", RST: "#c0262d" };

  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function kind(p) {
    if (p.flags.indexOf("RST") >= 0) return "RST";
    if (p.flags.indexOf("SYN") >= 0) return "SYN";
    if (p.flags.indexOf("FIN") >= 0) return "FIN";
    return p.len ? "data" : "ACK";
  }
  function ms(t) { return "+" + (t * 1000).toFixed(3) + " ms"; }
  function visible(i) { return showAcks || i.kind !== "packet" || kind(i) !== "ACK"; }

  // Time -> y. Every distinct instant gets its own row; "gaps" mode adds a
  // little for each idle gap (log scale) and marks long ones, "linear" is to scale.
  function scale(shown) {
    var ts = [];
    shown.forEach(function (i) { ts.push(i.t); if (i.t_arrive != null) ts.push(i.t_arrive); });
    ts.sort(function (a, b) { return a - b; });
    var uniq = ts.filter(function (t, k) { return k === 0 || t !== ts[k - 1]; });
    var ys = [], idles = [], y = TOP + 30, span = uniq.length ? uniq[uniq.length - 1] - uniq[0] : 0;
    var perSec = span > 0 ? Math.max(2000, uniq.length * ROW) / span : 0;
    uniq.forEach(function (t, k) {
      if (k > 0) {
        var gap = t - uniq[k - 1];
        if (mode === "linear") y += zoom * gap * perSec;
        else {
          y += zoom * (ROW + GAP * Math.min(1, Math.log(1 + gap * 1e4) / Math.log(1e4)));
          if (gap > IDLE) idles.push([y - zoom * GAP / 2, gap]);
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
    var s;
    if (i.kind === "call") {
      s = "[" + i.lane + "] " + ms(i.t) + "  step " + i.step + " " + i.label + "\n" +
          i.text + " = " + i.ret + (i.errno ? "  " + i.errno + " (" + i.error + ")" : "") +
          "\n\ntrace line:\n" + JSON.stringify(i.trace);
    } else if (i.kind === "note") {
      s = "[" + i.lane + "] " + ms(i.t) + "  " + i.text + "\n\ntrace line:\n" + JSON.stringify(i.trace);
    } else if (i.kind === "state") {
      s = "[" + i.lane + "] " + ms(i.t) + "  fd " + i.fd + ": " + (i.from || "(new)") + " -> " + i.to +
          "\n(the kernel's view after the call)\n\ntrace line:\n" + JSON.stringify(i.trace);
    } else {
      s = i.from + " -> " + i.to + "  " + i.label + (i.retransmission ? "  RETRANSMISSION" : "") +
          "\n" + i.src + " -> " + i.dst + "\nflags " + i.flags.join(",") + "  length " + i.len +
          "  window " + i.window + "\nseq " + i.rel_seq + " (raw " + i.seq + ")" +
          (i.rel_ack != null ? "  ack " + i.rel_ack + " (raw " + i.ack + ")" : "") +
          "\nsent " + ms(i.t) + (i.lost ? "  LOST on the way (never arrived)" :
          (i.t_arrive != null && i.t_arrive !== i.t ? "  arrived " + ms(i.t_arrive) : "")) +
          "\ncaptured at " + i.ts_text + (i.payload ? "\npayload: " + JSON.stringify(i.payload) : "");
    }
    box.textContent = s + (pin ? "\n\n(click again to unpin)" : "");
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

  function draw() {
    var shown = items.filter(visible), sc = scale(shown);
    var svg = el("svg", { width: W, height: sc.end, viewBox: "0 0 " + W + " " + sc.end,
                          id: "timeline-svg" });
    var defs = el("defs", {});
    Object.keys(COLOR).forEach(function (k) {
      var m = el("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5,
                             markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      m.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: COLOR[k] }));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
    svg.appendChild(el("line", { x1: SX, y1: TOP, x2: SX, y2: sc.end, "class": "lane" }));
    svg.appendChild(el("line", { x1: CX, y1: TOP, x2: CX, y2: sc.end, "class": "lane" }));
    svg.appendChild(el("line", { x1: (SX + CX) / 2, y1: TOP, x2: (SX + CX) / 2, y2: sc.end, "class": "wire" }));
    svg.appendChild(el("text", { x: SX, y: TOP - 12, "text-anchor": "middle", "class": "lanehead" }, "server"));
    svg.appendChild(el("text", { x: (SX + CX) / 2, y: TOP - 12, "text-anchor": "middle", "class": "lanehead" },
                       data.netem ? "the wire (netem " + data.netem + ")" : "the wire"));
    svg.appendChild(el("text", { x: CX, y: TOP - 12, "text-anchor": "middle", "class": "lanehead" }, "client"));
    sc.idles.forEach(function (g) {
      svg.appendChild(el("text", { x: (SX + CX) / 2, y: g[0] + 4, "text-anchor": "middle", "class": "idle" },
                         "\u22ee " + (g[1] * 1000).toFixed(1) + " ms idle"));
    });
    var lastLabel = -1e9;
    shown.forEach(function (i) {
      var y = sc.at(i.t), g = el("g", {});
      if (y - lastLabel > 14) {
        svg.appendChild(el("text", { x: 6, y: y + 4, "class": "tlabel" }, ms(i.t)));
        lastLabel = y;
      }
      if (i.kind === "call") {
        var x = i.lane === "server" ? SX : CX, left = i.lane === "server";
        g.setAttribute("class", "callg");
        g.appendChild(el("circle", { cx: x, cy: y, r: 4, fill: i.errno ? "#c0262d" : "#1d2330" }));
        var t = i.text + " = " + i.ret + (i.errno ? " " + i.errno : "");
        t = fit(t, 40);
        g.appendChild(el("text", { x: left ? x - 10 : x + 10, y: y + 4, "text-anchor": left ? "end" : "start",
                                   "class": "call" + (i.errno ? " err" : "") }, t));
      } else if (i.kind === "note") {
        var nx = i.lane === "server" ? SX : CX, nt = fit(i.text, 52);
        g.appendChild(el("text", { x: i.lane === "server" ? nx - 10 : nx + 10, y: y + 4, "class": "notetext",
                                   "text-anchor": i.lane === "server" ? "end" : "start" }, "\u2139 " + nt));
      } else if (i.kind === "state") {
        var sx = i.lane === "server" ? SX + 8 : CX - 8, w = 8 + 7 * i.to.length;
        g.setAttribute("class", "state");
        g.appendChild(el("rect", { x: i.lane === "server" ? sx : sx - w, y: y - 8, width: w, height: 15, rx: 4 }));
        g.appendChild(el("text", { x: i.lane === "server" ? sx + 4 : sx - 4, y: y + 3,
                                   "text-anchor": i.lane === "server" ? "start" : "end" }, i.to));
      } else {
        var k = kind(i), col = i.retransmission || i.lost ? COLOR.RST : COLOR[k];
        var x1 = i.from === "server" ? SX : CX, x2 = i.from === "server" ? CX : SX;
        var y2 = i.lost ? y + (sc.at(i.t) - y) : (i.t_arrive != null ? sc.at(i.t_arrive) : y);
        if (i.lost) x2 = (SX + CX) / 2;
        g.setAttribute("class", "pkt");
        g.appendChild(el("line", { x1: x1, y1: y, x2: x2, y2: y2, stroke: col, "stroke-width": k === "ACK" ? 1.5 : 2.5,
                                   "stroke-dasharray": i.retransmission ? "6 3" : "none",
                                   "marker-end": i.lost ? "none" : "url(#arrow-" + k + ")" }));
        if (i.lost) {
          g.appendChild(el("text", { x: x2, y: y2 + 5, "text-anchor": "middle", fill: COLOR.RST,
                                     style: "font-size:16px;font-weight:bold" }, "\u2715"));
        }
        var lx = i.lost ? (x1 + x2) / 2 : (SX + CX) / 2;
        g.appendChild(el("text", { x: lx, y: (y + y2) / 2 - 4, "text-anchor": "middle", fill: col },
                         i.label + (i.retransmission ? " (retransmission)" : "") + (i.lost ? " (lost)" : "")));
        // A wide invisible line: an easy target for the mouse.
        g.appendChild(el("line", { x1: x1, y1: y, x2: x2, y2: y2, stroke: "transparent", "stroke-width": 10 }));
      }
      hit(g, i);
      svg.appendChild(g);
    });
    var chart = document.getElementById("chart");
    chart.textContent = "";
    chart.appendChild(svg);
  }

  document.getElementById("zin").onclick = function () { zoom = Math.min(zoom * 1.5, 20); draw(); };
  document.getElementById("zout").onclick = function () { zoom = Math.max(zoom / 1.5, 0.05); draw(); };
  document.getElementById("zfit").onclick = function () { zoom = 1; draw(); window.scrollTo(0, 0); };
  document.getElementById("mode").onchange = function (e) { mode = e.target.value; draw(); };
  document.getElementById("acks").onchange = function (e) { showAcks = e.target.checked; draw(); };
  draw();
})();
</script>
</body>
</html>
"""
