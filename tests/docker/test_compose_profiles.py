"""test_compose_profiles.py - compose.yaml's slow profile: the exchange over a slow link.

`docker compose --profile slow up slow-client` runs slow-server and slow-client, each
slowing its eth0 before it drops to user lab: `tc netem $NETEM`, or, on a kernel
without netem (sch_netem, as on this kit's CI machine), tools/slowlink. A plain
`docker compose up` must not start them. The delay is measured in the client's own
JSON trace (LAB_TRACE=json): a round trip is two delays at least.
"""
import json
import re

import pytest

from dockerlab import compose_commands

pytestmark = pytest.mark.docker

COMPOSE = compose_commands()
IDS = [" ".join(c) for c in COMPOSE]


def lines(output, service):
    """A service's lines from `up --no-color` output (v1: name_1 |, v2: name-1 |)."""
    return re.findall(rf"^{service}[-_]1\s*\| ?(.*)$", output.replace("\r\n", "\n"), re.M)


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_slow_profile_adds_a_netem_pair_with_net_admin(dock, cmd):
    res = dock.compose(cmd, "--profile", "slow", "config", env={"NETEM": "delay 75ms"})
    assert res.returncode == 0, res.stderr
    assert "slow-server:" in res.stdout and "slow-client:" in res.stdout
    assert "NET_ADMIN" in res.stdout and "delay 75ms" in res.stdout
    flat = " ".join(res.stdout.split())         # config may fold the long entrypoint line
    assert "tc qdisc add dev eth0 root netem" in flat
    assert "slowlink -o eth0" in flat


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_plain_up_starts_only_server_and_client(dock, cmd):
    res = dock.compose(cmd, "up", "--no-build", "--no-color", "--exit-code-from", "client",
                       env={"COUNT": "1", "INTERVAL": "0"})
    output = res.stdout + res.stderr
    assert res.returncode == 0, output
    assert lines(output, "client") and not lines(output, "slow-client"), output
    assert "slow-" not in output


def slow_pair(dock, cmd, env):
    """Run the slow pair; its output (with the server's log when it failed)."""
    res = dock.compose(cmd, "--profile", "slow", "up", "--no-build", "--no-color",
                       "--exit-code-from", "slow-client", "slow-client", env=env, timeout=180)
    output = res.stdout + res.stderr
    if res.returncode != 0:
        logs = dock.compose(cmd, "--profile", "slow", "logs", "--no-color", "slow-server")
        output += logs.stdout + logs.stderr
    return res, output


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_slow_pair_exchanges_the_messages_each_round_trip_two_delays_long(dock, cmd):
    env = {"NETEM": "delay 100ms", "COUNT": "2", "INTERVAL": "0", "LAB_TRACE": "json"}
    res, output = slow_pair(dock, cmd, env)
    assert res.returncode == 0, output
    client = lines(output, "slow-client")
    # Which way the link was slowed, said before the program starts.
    assert ("slow link: tc netem delay 100ms on eth0" in client or
            "slow link: no netem in this kernel, so slowlink holds eth0's packets instead" in client), output
    assert client.count("received: ok") == 2, output
    events = [json.loads(line) for line in client if line.startswith('{"prog":"client"')]
    connect = [e for e in events if e.get("call") == "connect"]
    sends = [e for e in events if e.get("call") == "send"]
    recvs = [e for e in events if e.get("call") == "recv"]
    # SYN then SYN-ACK, a message then its "ok": each crosses one slowed eth0.
    # A round trip runs from the send's start to the reply's recv returning (a
    # client the scheduler held up between the two may enter recv late).
    assert len(connect) == 1 and connect[0]["ts"] - connect[0]["start"] >= 0.2, connect
    assert len(sends) == len(recvs) == 2, events
    assert all(r["ts"] - s["start"] >= 0.2 for s, r in zip(sends, recvs)), (sends, recvs)


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_slow_pair_refuses_what_it_cannot_emulate(dock, cmd):
    """Without netem, slowlink does delay and loss only: "rate" stops the pair
    with a message naming it. (With netem, tc does it, and the pair runs.)"""
    env = {"NETEM": "rate 1mbit", "COUNT": "1", "INTERVAL": "0"}
    res, output = slow_pair(dock, cmd, env)
    if "slow link: no netem in this kernel" in output:
        assert res.returncode != 0, output
        assert "slowlink: 'rate' is not something slowlink does" in output, output
    else:
        assert res.returncode == 0, output
