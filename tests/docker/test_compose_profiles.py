"""test_compose_profiles.py - compose.yaml's slow profile: the exchange over a slow link.

`docker compose --profile slow up slow-client` runs slow-server and slow-client, each
putting `tc netem $NETEM` on its eth0 before it drops to user lab. A plain
`docker compose up` must not start them. A kernel without netem (sch_netem) makes
the slow pair stop with a clear message instead.
"""
import re

import pytest

from dockerlab import ROOT, compose_commands

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
    assert "tc qdisc add dev eth0 root netem" in res.stdout


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_plain_up_starts_only_server_and_client(dock, cmd):
    res = dock.compose(cmd, "up", "--no-build", "--no-color", "--exit-code-from", "client",
                       env={"COUNT": "1", "INTERVAL": "0"})
    output = res.stdout + res.stderr
    assert res.returncode == 0, output
    assert lines(output, "client") and not lines(output, "slow-client"), output
    assert "slow-" not in output


@pytest.mark.parametrize("cmd", COMPOSE, ids=IDS)
def test_slow_pair_exchanges_the_messages_over_netem(dock, cmd):
    env = {"NETEM": "delay 50ms", "COUNT": "2", "INTERVAL": "0"}
    res = dock.compose(cmd, "--profile", "slow", "up", "--no-build", "--no-color",
                       "--exit-code-from", "slow-client", "slow-client", env=env, timeout=180)
    output = res.stdout + res.stderr
    if res.returncode != 0:
        logs = dock.compose(cmd, "--profile", "slow", "logs", "--no-color", "slow-server")
        output += logs.stdout + logs.stderr
    if "netem: cannot put 'netem delay 50ms' on eth0" in output:
        # The message names what is missing, and the pair does not run without it.
        # That is what the pair must do on a kernel without netem (sch_netem):
        # say so and stop. (A skip here would fail CI's REQUIRE_DOCKER run,
        # though Docker itself worked.)
        assert res.returncode != 0
        return
    assert res.returncode == 0, output
    assert lines(output, "slow-client").count("received: ok") == 2, output
