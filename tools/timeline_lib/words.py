"""words.py - the timeline page's words, in English and Chinese.

One run can be drawn in either language (tools/timeline --lang en,zh): the
run keeps its notes as (key, arguments), and the page is written in a
language at the end. PAGE holds what the page's script says (lane names,
controls, details); NOTES the notes above the drawing; the trace's own step
labels and notes take their Chinese from the programs' catalog,
po/zh_CN.po. Chinese terms follow the kit's glossary: socket（套接字）,
服务器, 客户端, 对端, 接受 (accept), 回复 (reply).
"""
import re
from pathlib import Path

LANGS = ("en", "zh")
PO = Path(__file__).resolve().parent.parent.parent / "po" / "zh_CN.po"

PAGE = {
    "en": {
        "html_lang": "en",
        "server": "server", "client": "client",
        "wire": "the wire", "wire_netem": "the wire (netem {netem})",
        "wire_router": "through a router that drops data packet {n}",
        "idle": "\u22ee {ms} ms idle",
        "waits": "waits {ms} ms",
        "data": "data {n}", "plus_data": " + data {n}",
        "retransmission": " (retransmission)", "lost": " (lost)",
        "lasts": "{state} for {s} s (until +{end} s)",
        "zoom": "zoom", "zoom_in": "zoom in", "zoom_out": "zoom out", "reset": "reset",
        "reset_title": "back to the start", "time": "time",
        "gaps": "idle gaps shortened", "linear": "to scale", "acks": "bare ACKs",
        "legend_data": "data", "legend_bad": "RST, retransmission, loss",
        "legend_call": "a call, from its start to its return",
        "legend_watched": "a state seen after the program's last call",
        "hint": "hover over or click anything for its details",
        "noscript": "The drawing needs JavaScript; the data is in this page as JSON.",
        "step": "step", "trace_line": "trace line", "kernel_view": "the kernel's view after the call",
        "new": "(new)", "started": "started", "returned": "returned", "waited": "waited",
        "RETRANSMISSION": "RETRANSMISSION", "flags": "flags", "length": "length",
        "window": "window", "seq": "seq", "ack": "ack", "raw": "raw", "sent": "sent",
        "arrived": "arrived", "lost_detail": "LOST on the way (never arrived)",
        "captured": "captured at", "payload": "payload", "unpin": "(click again to unpin)",
        "connection": "connection",
        "watched": "No program can ask about a socket after closing it: timeline asked the "
                   "kernel every few ms (sock_diag, as ss does) and saw this state between "
                   "{a} and {b}. It is drawn at the last packet of this side in that time, "
                   "the one that made it.",
        "time_wait": "The side that closed first keeps the connection's addresses in "
                     "TIME_WAIT for 60 s on Linux, so that a late packet of this connection "
                     "cannot be taken for part of a new one: until +{end} s.",
        "exit": "exit",
        "summary": "{calls} calls, {states} state changes, {packets} packets",
        "summary_retrans": ", {n} retransmitted", "summary_lost": ", {n} lost on the way",
        "summary_netem": " \u00b7 network: ",
    },
    "zh": {
        "html_lang": "zh-CN",
        "server": "服务器", "client": "客户端",
        "wire": "线路", "wire_netem": "线路（netem {netem}）",
        "wire_router": "经过一台路由器，它丢掉第 {n} 个数据包",
        "idle": "\u22ee 空闲 {ms} ms",
        "waits": "等待 {ms} ms",
        "data": "数据 {n}", "plus_data": " + 数据 {n}",
        "retransmission": "（重传）", "lost": "（丢失）",
        "lasts": "{state} 持续 {s} 秒（到 +{end} 秒）",
        "zoom": "缩放", "zoom_in": "放大", "zoom_out": "缩小", "reset": "复原",
        "reset_title": "回到开头", "time": "时间",
        "gaps": "缩短空闲时段", "linear": "按实际比例", "acks": "单独的 ACK",
        "legend_data": "数据", "legend_bad": "RST、重传、丢包",
        "legend_call": "一个调用，从开始到返回",
        "legend_watched": "程序最后一个调用之后看到的状态",
        "hint": "把鼠标移到任何一项上或点击它，可以看到细节",
        "noscript": "这张图需要 JavaScript；数据以 JSON 形式保存在本页中。",
        "step": "第几步", "trace_line": "跟踪记录", "kernel_view": "调用之后内核看到的状态",
        "new": "（新建）", "started": "开始", "returned": "返回", "waited": "等了",
        "RETRANSMISSION": "重传", "flags": "标志", "length": "长度",
        "window": "窗口", "seq": "序号", "ack": "确认号", "raw": "原始值", "sent": "发出",
        "arrived": "到达", "lost_detail": "在途中丢失（没有到达）",
        "captured": "抓包时间", "payload": "载荷", "unpin": "（再点一次取消固定）",
        "connection": "连接",
        "watched": "socket关闭以后，程序就不能再查看它：timeline 每隔几毫秒问一次内核（sock_diag，"
                   "和 ss 一样），在 {a} 到 {b} 之间看到了这个状态。图中把它画在这段时间里这一方"
                   "最后一个报文那里，正是那个报文让它进入这个状态。",
        "time_wait": "先关闭的一方在 Linux 上让这个连接的地址在 TIME_WAIT 里停留 60 秒，"
                     "免得这个连接迟到的报文被当成新连接的一部分：一直到 +{end} 秒。",
        "exit": "退出码",
        "summary": "{calls} 个调用，{states} 次状态变化，{packets} 个报文",
        "summary_retrans": "，{n} 个重传", "summary_lost": "，{n} 个在途中丢失",
        "summary_netem": " \u00b7 网络：",
    },
}

TITLES = {
    "en": {"loopback": "Lesson {lesson}: server and client on loopback",
           "netem": "Lesson {lesson}: server and client in network namespaces, "
                    "through a router with netem \"{netem}\"",
           "drop": "Lesson {lesson}: server and client in network namespaces, through a "
                   "router that drops the client's data packet {drop}",
           "netem_drop": "Lesson {lesson}: server and client in network namespaces, through "
                         "a router with netem \"{netem}\" that drops the client's data "
                         "packet {drop}",
           "any": "timeline: {server} and {client}"},
    "zh": {"loopback": "第 {n} 课（{lesson}）：服务器和客户端，在回环接口上",
           "netem": "第 {n} 课（{lesson}）：服务器和客户端，在各自的网络命名空间里，"
                    "经过一台加了 netem \"{netem}\" 的路由器",
           "drop": "第 {n} 课（{lesson}）：服务器和客户端，在各自的网络命名空间里，"
                   "经过一台路由器，它丢掉客户端的第 {drop} 个数据包",
           "netem_drop": "第 {n} 课（{lesson}）：服务器和客户端，在各自的网络命名空间里，"
                         "经过一台加了 netem \"{netem}\" 的路由器，它丢掉客户端的第 {drop} "
                         "个数据包",
           "any": "时间线：{server} 和 {client}"},
}

NOTES = {
    "en": {
        "peer_upload": "The client sends one big upload and reads nothing until it is done. The "
                       "server answers \"ok\" to each 1023-byte piece, but a small segment may "
                       "not leave while an earlier one is unacknowledged (Nagle): count the "
                       "\"ok\"s per data packet. Where the client's kernel delays its ACK (up to "
                       "40 ms), each batch waits for it: the replies trickle.",
        "peer_pieces": "Each request is two 1023-byte pieces, and the server answers each piece "
                       "with \"ok\": two small writes in a row. The second \"ok\" may not leave "
                       "until the first is acknowledged (Nagle), and the client's kernel delays "
                       "that ACK (up to 40 ms) because the client has nothing to send until the "
                       "second \"ok\" comes: look at the gap before each second \"ok\".",
        "peer_burst": "The client sends its messages back to back without waiting for replies. "
                      "TCP keeps no message boundaries: watch one recv() on the server return "
                      "two or more messages glued together.",
        "peer_untraced": "(The client is tools/timeline_lib/peers.py: its calls are not traced; "
                         "its packets are on the wire, and its socket's states come from the "
                         "kernel.)",
        "no_listen": "Lesson {lesson}'s server does not listen, so no client can connect: there "
                     "are calls and kernel states, and no packets.",
        "borrowed_client": "Lesson {lesson} has no client of its own: lesson {peer}'s client "
                           "plays it (-n 1 -t 1). The server never calls accept(): the kernel "
                           "completes the handshake and acknowledges the message by itself.",
        "preload_missing": "{lanes}: no calls drawn, because the preload tracer {lib} is not "
                           "built (run make; tools/trace needs it too). The packets are drawn.",
        "lanes_server": "server", "lanes_client": "client", "lanes_both": "server and client",
        "namespaces": "The programs ran in network namespaces of their own, client {client} "
                      "and server {server}, joined through a router namespace{how}{drop}. "
                      "Arrows run from leaving one side to arriving at the other.",
        "namespaces_netem": " that applies \"{netem}\" each way, with {emulated}",
        "namespaces_drop": "; the router drops the client's data packet number {drop} once "
                           "(retransmissions count too)",
        "emulated_tc": "tc netem",
        "emulated_nft": "nftables (this kernel has no netem)",
        "emulated_relay": "tools/timeline_lib/relay.py, a user-space netem (this kernel has "
                          "no netem)",
        "no_packets": "No packets: {why}. The calls and the kernel's states are drawn; run as "
                      "root with tcpdump installed to see the packets too.",
        "capture_dropped": "The capture at {name} missed {n} packets (tcpdump: dropped by "
                           "kernel): the machine was busy.",
        "capture_unreadable": "The capture at {name} could not be read: {why}",
        "no_watch": "No states after the programs' last calls (TIME_WAIT): {why}.",
    },
    "zh": {
        "peer_upload": "客户端一次上传一大块数据，传完之前什么也不读。服务器对每 1023 字节回复一个"
                       "\"ok\"，但是前一个小报文段还没被确认时，后一个可能发不出去（Nagle 算法）："
                       "数一数每个数据包里有几个\"ok\"。客户端的内核推迟 ACK（最多 40 ms）时，"
                       "每一批都要等它：回复一点一点地出来。",
        "peer_pieces": "每个请求分成两块，各 1023 字节，服务器对每一块回复\"ok\"：连着两次小的写。"
                       "第二个\"ok\"要等第一个被确认才能发出（Nagle 算法），而客户端的内核推迟这个 "
                       "ACK（最多 40 ms），因为在第二个\"ok\"到来之前客户端没有东西要发：看看每个第二个"
                       "\"ok\"之前的空隙。",
        "peer_burst": "客户端一条接一条地发消息，不等回复。TCP 不保留消息边界：看服务器的一次 "
                      "recv() 返回两条或更多粘在一起的消息。",
        "peer_untraced": "（客户端是 tools/timeline_lib/peers.py：它的调用没有跟踪；它的报文在线路上，"
                         "它的socket状态来自内核。）",
        "no_listen": "第 {lesson} 课的服务器不监听，所以没有客户端能连上：图里有调用和内核状态，"
                     "没有报文。",
        "borrowed_client": "第 {lesson} 课没有自己的客户端：由第 {peer} 课的客户端扮演（-n 1 -t 1）。"
                           "服务器从不调用 accept()：内核自己完成握手，并确认收到的消息。",
        "preload_missing": "{lanes}：没有画出调用，因为预加载跟踪库 {lib} 还没有编译（运行 make；"
                           "tools/trace 也需要它）。报文照常画出。",
        "lanes_server": "服务器", "lanes_client": "客户端", "lanes_both": "服务器和客户端",
        "namespaces": "两个程序运行在各自的网络命名空间里，客户端 {client}，服务器 {server}，"
                      "中间经过一个路由器命名空间{how}{drop}。箭头从报文离开一方画到它到达另一方。",
        "namespaces_netem": "，它在每个方向上施加\"{netem}\"，用的是{emulated}",
        "namespaces_drop": "；路由器把客户端的第 {drop} 个数据包丢掉一次（重传的也算）",
        "emulated_tc": " tc netem",
        "emulated_nft": " nftables（这个内核没有 netem）",
        "emulated_relay": " tools/timeline_lib/relay.py，一个用户态的 netem（这个内核没有 netem）",
        "no_packets": "没有报文：{why}。图里有调用和内核状态；以 root 身份运行并安装 tcpdump，"
                      "才能看到报文。",
        "capture_dropped": "{name} 处的抓包漏掉了 {n} 个报文（tcpdump：dropped by kernel）："
                           "机器太忙。",
        "capture_unreadable": "{name} 处的抓包文件读不出来：{why}",
        "no_watch": "看不到程序最后一个调用之后的状态（TIME_WAIT）：{why}。",
    },
}


def note(key, **args):
    """A note to write later, in the page's language."""
    return (key, args)


def note_text(n, lang):
    """The words of note N (a note() or a plain string, shown as it is)."""
    if isinstance(n, str):
        return n
    key, args = n
    args = {k: (note_text(v, lang) if isinstance(v, tuple) else v) for k, v in args.items()}
    return NOTES[lang][key].format(**args)


def title(kind, lang, **args):
    return TITLES[lang][kind].format(**args)


def catalog(path=PO):
    """{(context, English): Chinese} of the programs' messages (po/zh_CN.po):
    the trace's step labels (context "server", "client", "any") and notes."""
    found = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return found

    def joined(block, word):
        m = re.search(r'^%s ((?:"(?:[^"\\]|\\.)*"\s*)+)' % word, block, re.M)
        if not m:
            return None
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))).replace('\\"', '"')
    for block in text.split("\n\n"):
        msgid, msgstr = joined(block, "msgid"), joined(block, "msgstr")
        if msgid and msgstr and "#, fuzzy" not in block:
            found[(joined(block, "msgctxt") or "", msgid)] = msgstr
    return found


def page_words(lang, trace_notes=()):
    """What the page's script needs in LANG: PAGE's words, and for Chinese the
    trace's step labels and the TRACE_NOTES it shows, from the catalog."""
    w = dict(PAGE[lang])
    if lang == "zh":
        cat = catalog()
        w["steps"] = {ctx: {en: zh for (c, en), zh in cat.items() if c == ctx}
                      for ctx in ("server", "client", "any")}
        w["notes"] = {en: cat[("", en)] for en in trace_notes if ("", en) in cat}
    return w
