"""The seed's own programs against ours, both ways.

tests/seed/demo5.cpp and demo6.cpp are the seed tutorial's client and server,
copied verbatim (unmodified) from its two C++ listings. They are compiled
once per session with g++ and must interoperate with lesson 06:
seed demo5 -> our server, and our client -> seed demo6, ten messages each.
demo5 sleeps one second after each message, so its test takes about 10 s.
demo6 takes a fixed port: we pick a free one and wait for LISTEN in
/proc/net/tcp, without connecting (demo6 serves exactly one client).
"""
import shutil
import subprocess
from pathlib import Path

import pytest

from labharness import free_port, listen_state_seen, seed_message

SEED = Path(__file__).resolve().parent / "seed"
LESSON = "06-close"


@pytest.fixture(scope="session")
def seed_programs(tmp_path_factory):
    """demo5 and demo6, built from the seed's listings: {"demo5": path, "demo6": path}."""
    gxx = shutil.which("g++")
    if not gxx:
        pytest.fail("g++ is not installed (make test installs it: see tests/ensure-deps.sh)")
    out = tmp_path_factory.mktemp("seed")
    built = {}
    for name in ("demo5", "demo6"):
        exe = out / name
        r = subprocess.run([gxx, "-O1", "-w", "-o", str(exe), str(SEED / f"{name}.cpp")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"g++ could not build the seed's {name}:\n{r.stderr}"
        built[name] = exe
    return built


def seed_lines(message_label, reply_label):
    """Ten exchanges as one side prints them in the seed's words: the message
    under its label, then "ok" under the other. demo5 (a client) prints
    发送：MESSAGE / 接收：ok; demo6 (a server) prints 接收：MESSAGE / 发送：ok."""
    return [line for i in range(1, 11)
            for line in (message_label + seed_message(i).decode(), reply_label + "ok")]


@pytest.mark.timeout(40)
@pytest.mark.slow
def test_seed_demo5_client_talks_to_our_server(lab, seed_programs):
    server = lab.server(LESSON, env={"LAB_LANG": "zh"})   # data lines stay the same in Chinese
    demo5 = lab.start([seed_programs["demo5"], "127.0.0.1", str(server.port)])
    assert demo5.wait(timeout=30) == 0, f"the seed's demo5 should finish its ten messages\n{demo5.stdout}"
    assert server.wait() == 0, f"our server should exit 0 after demo5 closes\n{server.stderr}"
    # demo5 prints 发送：MESSAGE then 接收：REPLY; it got "ok" ten times.
    assert demo5.stdout.splitlines() == seed_lines("发送：", "接收："), demo5.stdout
    # Our server prints what the seed's demo6 would, under the kit's data
    # labels, which never change with the language (harnesses read them).
    assert server.stdout.splitlines()[1:] == seed_lines("received: ", "sent: "), server.stdout


@pytest.mark.timeout(40)
def test_our_client_talks_to_seed_demo6_server(lab, seed_programs):
    port = free_port()
    demo6 = lab.start([seed_programs["demo6"], str(port)])
    assert listen_state_seen(port), f"the seed's demo6 never listened on {port}\n{demo6.stdout}"
    client = lab.run_client(LESSON, "-i", "0", port=port, env={"LAB_LANG": "zh"})
    assert client.returncode == 0, client
    assert demo6.wait() == 0, demo6.stdout
    # Our client prints what the seed's demo5 prints, under the kit's labels.
    assert client.stdout.splitlines() == seed_lines("sent: ", "received: "), client.stdout
    # demo6 printed each of our messages intact, answered ok, then saw our close.
    assert demo6.stdout.splitlines() == (["客户端已连接。"] + seed_lines("接收：", "发送：")
                                         + ["iret=0"]), demo6.stdout
