"""test_compose_scale.py - several client containers at once against a concurrent server.

`LESSON=08-fork docker compose up -d --scale client=5`: lesson 08's server forks a child per
client, so five client containers that start together are all served, each getting every
reply. SERVER_FLAGS and CLIENT_FLAGS pass options through compose.yaml. Runs with Compose v2
and v1, whichever are installed; each test in its own compose project (dockerlab.Dock).
"""
import re
import time

import pytest

from dockerlab import compose_commands, docker

pytestmark = pytest.mark.docker

COMPOSE = compose_commands()
CLIENTS = 5
COUNT = 3
MESSAGES = [f"这是第{i}个超级女生，编号{i:03d}。" for i in range(1, COUNT + 1)]


def project_containers(dock, service):
    """Ids of the service's containers in this test's project, running or exited (the labels
    both Compose v1 and v2 put on what they create)."""
    project = dock.prefix.replace("-", "")
    res = docker("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}",
                 "--filter", f"label=com.docker.compose.service={service}")
    return res.stdout.split()


def lines(dock, container):
    """A container's output lines (compose.yaml joins its stderr to its stdout)."""
    out, err = dock.logs(container)
    return (out + err).replace("\r\n", "\n").splitlines()


@pytest.mark.parametrize("cmd", COMPOSE, ids=[" ".join(c) for c in COMPOSE])
def test_server_and_client_flags_reach_the_commands(dock, cmd):
    env = {"LESSON": "07-framing", "SERVER_FLAGS": "-k --bind 0.0.0.0", "CLIENT_FLAGS": "-q -t 5"}
    res = dock.compose(cmd, "config", env=env)
    assert res.returncode == 0, res.stderr
    assert re.search(r"/opt/socketlab/07-framing/server -k --bind 0\.0\.0\.0 5005", res.stdout), res.stdout
    assert re.search(r"/opt/socketlab/07-framing/client -q -t 5 -n 10 -i 1 server 5005", res.stdout), res.stdout
    res = dock.compose(cmd, "config")               # the defaults: no flags, lesson 06
    assert re.search(r"/opt/socketlab/06-close/server +5005", res.stdout), res.stdout


@pytest.mark.parametrize("cmd", COMPOSE, ids=[" ".join(c) for c in COMPOSE])
def test_scale_five_clients_against_the_fork_server_all_get_every_reply(dock, docker_image, cmd):
    env = {"LESSON": "08-fork", "COUNT": str(COUNT), "INTERVAL": "0.2", "CLIENT_FLAGS": "-q"}
    res = dock.compose(cmd, "up", "-d", "--no-build", "--scale", f"client={CLIENTS}", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    clients = project_containers(dock, "client")
    assert len(clients) == CLIENTS, clients
    for c in clients:
        assert dock.wait(c, timeout=60) == 0, lines(dock, c)
        got = lines(dock, c)
        assert [l for l in got if l.startswith("sent: ")] == [f"sent: {m}" for m in MESSAGES], got
        assert [l for l in got if l.startswith("received: ")] == ["received: ok"] * COUNT, got
    (server,) = project_containers(dock, "server")
    deadline = time.monotonic() + 20              # docker logs may lag the container a little
    while True:
        received = [l[len("received: "):] for l in lines(dock, server) if l.startswith("received: ")]
        if len(received) >= CLIENTS * COUNT or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(received) == sorted(MESSAGES * CLIENTS), received
    state = docker("inspect", "-f", "{{.State.Running}}", server).stdout.strip()
    assert state == "true", "the concurrent server keeps serving until it is stopped"
    res = dock.compose(cmd, "stop", "-t", "5", "server", env=env)
    assert res.returncode == 0, res.stderr
    assert dock.wait(server) == 0, "SIGTERM (compose stop): the server exits 0"
