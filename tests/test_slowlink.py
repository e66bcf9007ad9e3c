"""test_slowlink.py - tools/slowlink.c, netem's delay and loss without netem.

Each test gets its own network namespace (root), where `slowlink -o lo` queues
every packet sent on loopback, so both directions of a lesson 06 exchange are
slowed. The evidence is the kernel's and the client's, not slowlink's own
report: the client's JSON trace times connect() and recv() (a round trip is
two delays at least), and /proc/net/snmp counts TCP's retransmissions.
"""
import itertools
import os
import re
import signal
import subprocess

import pytest

from labharness import BUILD, Proc, json_lines, program, seed_message

SLOWLINK = BUILD / "tools" / "slowlink"
_names = itertools.count()

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root: network namespaces and netfilter queues")


def run(argv, timeout=60):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def netns():
    """A fresh network namespace with loopback up; its name."""
    if not SLOWLINK.exists():
        pytest.fail(f"{SLOWLINK} is missing: run 'make' first")
    name = f"slowlink-test-{os.getpid()}-{next(_names)}"
    res = run(["ip", "netns", "add", name])
    assert res.returncode == 0, res.stderr
    try:
        assert run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]).returncode == 0
        yield name
    finally:
        run(["ip", "netns", "del", name])


def in_ns(ns, *argv):
    return ["ip", "netns", "exec", ns, *argv]


def start_server(ns):
    server = Proc(in_ns(ns, program("06-close", "server"), "0"))
    port = int(server.wait_for(r"^listening on \S+:(\d+)$").group(1))
    return server, port


def client_argv(port, count):
    return ["env", "LAB_TRACE=json", program("06-close", "client"), "-n", str(count), "-i", "0",
            "127.0.0.1", str(port)]


def retransmitted_segments(ns):
    """TCP's RetransSegs counter in the namespace (/proc/net/snmp)."""
    text = run(in_ns(ns, "cat", "/proc/net/snmp")).stdout
    names, values = [line.split()[1:] for line in text.splitlines() if line.startswith("Tcp:")]
    return int(values[names.index("RetransSegs")])


def duration(event):
    return event["ts"] - event["start"]


@pytest.mark.parametrize("words, says", [
    ([], "no NETEM given"),
    (["rate", "1mbit"], "'rate' is not something slowlink does"),
    (["delay", "abc"], "bad time 'abc'"),
    (["delay"], "'delay' needs a time"),
    (["loss", "150%"], "bad loss '150%'"),
    (["loss", "nan"], "bad loss 'nan'"),
    (["delay", "inf"], "bad time 'inf'"),
    (["delay", "10ms", "20ms"], "jitter 0.02s is larger than the delay 0.01s"),
    (["delay", "10ms", "--"], "'--' but no command after it"),
    (["--queue", "70000", "delay", "1ms"], "bad --queue '70000'"),
])
def test_bad_arguments_are_a_usage_error(words, says):
    res = run([SLOWLINK, *words])
    assert res.returncode == 2, res
    assert says in res.stderr and "usage: slowlink" in res.stderr, res.stderr


def test_without_net_admin_it_says_what_it_needs(netns):
    res = run(in_ns(netns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "--inh-caps=-all", SLOWLINK, "delay", "10ms", "--", "true"))
    assert res.returncode == 1, res
    assert "needs CAP_NET_ADMIN" in res.stderr, res.stderr


def test_delay_stretches_each_round_trip_and_the_rule_is_removed(netns):
    server, port = start_server(netns)
    try:
        client = Proc(in_ns(netns, SLOWLINK, "-o", "lo", "delay", "100ms", "--",
                            *client_argv(port, 2)))
        assert client.wait(30) == 0, client.stderr
        assert server.wait() == 0, server.stderr
    finally:
        server.kill()
    assert client.stdout.count("received: ok") == 2, client.stdout
    events = json_lines(client.stderr)
    connect = [e for e in events if e.get("call") == "connect"]
    recvs = [e for e in events if e.get("call") == "recv"]
    # SYN and SYN-ACK are each held 100 ms; a message and its "ok" too.
    assert len(connect) == 1 and duration(connect[0]) >= 0.2, connect
    assert len(recvs) == 2 and all(duration(e) >= 0.2 for e in recvs), recvs
    # slowlink put its NFQUEUE rule on lo and took it away again.
    rules = run(in_ns(netns, "iptables", "-S", "OUTPUT")).stdout
    assert "NFQUEUE" not in rules, rules
    summary = re.search(r"^slowlink: (\d+) packets: (\d+) held 100 ms, 0 dropped$",
                        client.stderr, re.M)
    assert summary and int(summary.group(1)) == int(summary.group(2)) > 0, client.stderr


def test_loss_makes_tcp_retransmit_and_the_exchange_still_completes(netns):
    server, port = start_server(netns)
    before = retransmitted_segments(netns)
    try:
        # A fixed seed drops the same packets each run: a retransmission is certain.
        client = Proc(in_ns(netns, SLOWLINK, "-o", "lo", "--seed", "7", "delay", "5ms",
                            "loss", "30%", "--", *client_argv(port, 5)))
        assert client.wait(60) == 0, client.stderr
        assert server.wait(30) == 0, server.stderr
    finally:
        server.kill()
    # TCP got every byte across: the server saw the five messages, in order.
    assert [line for line in server.stdout.splitlines() if line.startswith("received:")] == \
        [f"received: {seed_message(i).decode()}" for i in range(1, 6)], server.stdout
    drops = re.findall(r"^slowlink: dropped TCP .*$", client.stderr, re.M)
    assert drops, client.stderr
    assert retransmitted_segments(netns) > before


def test_exit_status_and_missing_command_pass_through(netns):
    res = run(in_ns(netns, SLOWLINK, "-q", "delay", "1ms", "--", "sh", "-c", "exit 7"))
    assert res.returncode == 7, res
    res = run(in_ns(netns, SLOWLINK, "-q", "delay", "1ms", "--", "no-such-command-here"))
    assert res.returncode == 127, res
    assert "no-such-command-here" in res.stderr, f"the command that could not run is named\n{res.stderr}"


def test_sigterm_ends_a_run_without_command_with_its_summary(netns):
    link = Proc(in_ns(netns, SLOWLINK, "delay", "10ms"))
    link.wait_for(r"^slowlink: queue 0: holding each packet 10 ms, dropping 0% "
                  r"\(add an NFQUEUE rule\)$", stream="stderr")
    # A second program cannot take the same queue: it says so.
    res = run(in_ns(netns, SLOWLINK, "delay", "10ms"))
    assert res.returncode == 1 and "queue 0 is taken by another program" in res.stderr, res
    assert "CAP_NET_ADMIN" not in res.stderr, res.stderr
    link.signal(signal.SIGTERM)
    assert link.wait() == 0, link.stderr
    assert re.search(r"^slowlink: 0 packets: 0 held 10 ms, 0 dropped$", link.stderr, re.M), \
        link.stderr
    # A tool, not a lesson: its own netlink calls are not traced.
    assert "[slowlink:" not in link.stderr, link.stderr
