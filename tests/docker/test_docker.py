"""test_docker.py - the lessons between two containers, as the classroom runs them.

Each test makes its own network, starts a server container and a client container that reaches
it by the name `server`, and reads both logs: the seed's exchange end to end, the faults that
only happen between machines, and compose.yaml itself. The fixtures are in conftest.py.
"""
import re
import time

import pytest

from dockerlab import PORT, ROOT, compose_commands, docker, record_figure

pytestmark = pytest.mark.docker

COUNT = 10
# The seed's message (demo5): 这是第%d个超级女生，编号%03d。
MESSAGES = [f"这是第{i}个超级女生，编号{i:03d}。" for i in range(1, COUNT + 1)]

# The seed's steps and the call that is each step's point.
SERVER_STEPS = {1: "socket", 2: "bind", 3: "listen", 4: "accept", 5: "recv", 6: "close"}
CLIENT_STEPS = {1: "socket", 2: "connect", 3: "send", 4: "close"}
# Lesson N's server does steps 1..N; its client (from lesson 04) steps 1..N-2.
LESSON_STEPS = {"04-accept": (4, 2), "05-send-recv": (5, 3), "06-close": (6, 4)}

TRACE_RE = re.compile(r"^\[(?:server|client)\] step (\d+) .*?  (\w+)\(", re.M)


def prog(lesson, name):
    return f"/opt/socketlab/{lesson}/{name}"


def traced_calls(stderr):
    """[(step, call)] from a program's trace, in the order it printed them."""
    return [(int(step), call) for step, call in TRACE_RE.findall(stderr)]


def assert_seed_order(stderr, steps, last_step):
    """The trace walks the seed's steps 1..last_step in order, each with its own call."""
    calls = traced_calls(stderr)
    numbers = [step for step, _ in calls]
    assert numbers == sorted(numbers), f"steps out of the seed's order: {numbers}\n{stderr}"
    assert sorted(set(numbers)) == list(range(1, last_step + 1)), stderr
    for step in range(1, last_step + 1):
        assert (step, steps[step]) in calls, f"step {step} has no {steps[step]}() call\n{stderr}"


def start_server(dock, lesson, net):
    server = dock.run("server", [prog(lesson, "server"), str(PORT)], net, alias="server")
    dock.wait_for_log(server, rf"^listening on 0\.0\.0\.0:{PORT}$")
    return server


def client_argv(lesson, *opts):
    return [prog(lesson, "client"), *opts, "server", str(PORT)]


def test_image_runs_as_non_root_without_a_compiler_and_prints_help_by_default(docker_image):
    res = docker("run", "--rm", docker_image)
    assert "docker compose up" in res.stdout and "/opt/socketlab/06-close/" in res.stdout
    assert docker("run", "--rm", docker_image, "id", "-u").stdout.strip() != "0"
    # The runtime stage holds the programs only: the toolchain stayed in the build stage.
    assert docker("run", "--rm", docker_image, "sh", "-c", "command -v gcc cc make",
                  check=False).returncode != 0
    for lesson in LESSON_STEPS:
        res = docker("run", "--rm", docker_image, prog(lesson, "client"), "--help")
        assert res.stdout.startswith("usage: client") or res.stderr.startswith("usage: client")


@pytest.mark.parametrize("lesson", ["05-send-recv", "06-close"])
def test_client_container_exchanges_ten_messages_with_server_container(dock, lesson):
    t0 = time.monotonic()
    net = dock.network()
    server = start_server(dock, lesson, net)
    client = dock.run("client", client_argv(lesson, "-n", str(COUNT), "-i", "0"), net)

    assert dock.wait(client) == 0, dock.logs(client)
    assert dock.wait(server) == 0, dock.logs(server)
    elapsed = time.monotonic() - t0
    s_out, s_err = dock.logs(server)
    c_out, c_err = dock.logs(client)

    assert re.findall(r"^received: (.*)$", s_out, re.M) == MESSAGES
    assert re.findall(r"^sent: (.*)$", s_out, re.M) == ["ok"] * COUNT
    assert re.findall(r"^sent: (.*)$", c_out, re.M) == MESSAGES
    assert re.findall(r"^received: (.*)$", c_out, re.M) == ["ok"] * COUNT
    # The server saw the client's address on the network, not loopback.
    accepted = re.search(r"accept\(3, ([\d.]+):\d+, \d+\) = 4", s_err)
    assert accepted and not accepted.group(1).startswith("127."), s_err

    server_last, client_last = LESSON_STEPS[lesson]
    assert_seed_order(s_err, SERVER_STEPS, server_last)
    assert_seed_order(c_err, CLIENT_STEPS, client_last)
    assert [c for _, c in traced_calls(s_err)].count("send") == COUNT
    assert [c for _, c in traced_calls(c_err)].count("send") == COUNT
    if lesson == "06-close":
        record_figure(f"one containerised exchange (06-close, {COUNT} messages, -i 0, "
                      f"network + 2 containers): {elapsed:.1f} s")


def test_lesson_04_client_container_connects_and_server_accepts(dock):
    lesson = "04-accept"
    net = dock.network()
    server = start_server(dock, lesson, net)
    client = dock.run("client", client_argv(lesson), net)

    assert dock.wait(client) == 0, dock.logs(client)
    assert dock.wait(server) == 0, dock.logs(server)
    s_out, s_err = dock.logs(server)
    c_out, c_err = dock.logs(client)
    server_last, client_last = LESSON_STEPS[lesson]
    assert_seed_order(s_err, SERVER_STEPS, server_last)
    assert_seed_order(c_err, CLIENT_STEPS, client_last)
    # Lesson 04 only connects: no message crosses.
    assert "received:" not in s_out and "sent:" not in c_out


def test_client_reports_peer_closed_when_server_container_stops_mid_exchange(dock):
    lesson = "06-close"
    net = dock.network()
    server = start_server(dock, lesson, net)
    client = dock.run("client", client_argv(lesson, "-n", str(COUNT), "-i", "0.5", "-t", "5"), net)
    dock.wait_for_log(server, "^received: " + re.escape(MESSAGES[1]) + "$")

    dock.docker_stop(server)
    assert dock.wait(client, timeout=20) == 1
    c_out, c_err = dock.logs(client)
    # A FIN (the server's socket closed as it died) or, with unread data, a reset.
    assert re.search(r"^client: (the server closed the connection before replying to message "
                     r"\d+ of 10|.*\((ECONNRESET|EPIPE)\))", c_err, re.M), c_err
    assert len(re.findall(r"^received: ok$", c_out, re.M)) < COUNT, c_out


def test_client_times_out_with_a_message_when_disconnected_from_the_network(dock):
    lesson = "06-close"
    net = dock.network()
    server = start_server(dock, lesson, net)
    client = dock.run("client", client_argv(lesson, "-n", str(COUNT), "-i", "0.5", "-t", "2"), net)
    dock.wait_for_log(server, "^received: " + re.escape(MESSAGES[1]) + "$")

    dock.disconnect(net, client)
    assert dock.wait(client, timeout=20) == 1
    _, c_err = dock.logs(client)
    # Nothing comes back and nothing says why: only the client's own timeout (-t 2) ends it.
    assert re.search(r"^client: recv reply to message \d+ of 10 .*\(EAGAIN\)$", c_err, re.M), c_err
    assert re.search(r"^client: hint: timed out waiting for the peer", c_err, re.M), c_err


def test_client_refused_before_server_listens_then_succeeds_once_it_does(dock):
    lesson = "06-close"
    net = dock.network()
    # The host `server` is up, but its program has not started yet.
    server = dock.run("server", ["sleep", "infinity"], net, alias="server")
    early = dock.run("client", client_argv(lesson, "-n", "1", "-t", "2"), net)
    assert dock.wait(early) == 1
    _, e_err = dock.logs(early)
    assert "Connection refused (ECONNREFUSED)" in e_err, e_err
    assert re.search(r"^client: hint: .*server running", e_err, re.M), e_err

    dock.exec_detached(server, [prog(lesson, "server"), str(PORT)])
    dock.wait_listening(server)
    late = dock.run("client", client_argv(lesson, "-n", "2", "-i", "0"), net)
    assert dock.wait(late) == 0, dock.logs(late)
    out, _ = dock.logs(late)
    assert re.findall(r"^received: (.*)$", out, re.M) == ["ok", "ok"]


def compose_ids(cmds):
    return [" ".join(c) for c in cmds]


COMPOSE = compose_commands()


def test_a_compose_cli_is_installed(docker_image):
    assert COMPOSE, "neither `docker compose` (v2) nor `docker-compose` (v1) is installed"


@pytest.mark.parametrize("cmd", COMPOSE, ids=compose_ids(COMPOSE))
def test_compose_file_is_valid_and_defines_server_and_client(dock, cmd):
    text = (ROOT / "compose.yaml").read_text()
    assert not re.search(r"^version:", text, re.M), "a version: key breaks Compose v2's reading"
    res = dock.compose(cmd, "config", "--services")
    assert res.returncode == 0, res.stderr
    # Compose v1 lists the services of every profile too (slow-*: test_compose_profiles.py).
    assert sorted(s for s in res.stdout.split() if not s.startswith("slow-")) == ["client", "server"]
    res = dock.compose(cmd, "config", env={"LESSON": "05-send-recv", "COUNT": "3", "INTERVAL": "0"})
    assert res.returncode == 0, res.stderr
    assert "/opt/socketlab/05-send-recv/client" in res.stdout
    assert "service_healthy" in res.stdout


def compose_lines(output, service):
    """A service's lines from `up --no-color` output (v1 names it server_1, v2 server-1)."""
    return re.findall(rf"^{service}[-_]1\s*\| ?(.*)$", output, re.M)


@pytest.mark.parametrize("cmd", COMPOSE, ids=compose_ids(COMPOSE))
@pytest.mark.parametrize("lesson", ["04-accept", "06-close"])
def test_compose_up_runs_the_exchange_and_ends_with_exit_0(dock, cmd, lesson):
    env = {"LESSON": lesson, "COUNT": str(COUNT), "INTERVAL": "0"}
    t0 = time.monotonic()
    res = dock.compose(cmd, "up", "--no-build", "--no-color", "--exit-code-from", "client", env=env)
    elapsed = time.monotonic() - t0
    # compose.yaml gives each container a terminal (tty), so its lines end in CR LF.
    output = (res.stdout + res.stderr).replace("\r\n", "\n")
    assert res.returncode == 0, output
    server, client = compose_lines(output, "server"), compose_lines(output, "client")
    assert f"listening on 0.0.0.0:{PORT}" in server, output
    server_last, client_last = LESSON_STEPS[lesson]
    assert_seed_order("\n".join(server), SERVER_STEPS, server_last)
    assert_seed_order("\n".join(client), CLIENT_STEPS, client_last)
    assert any(re.match(r"\[client\] step 2 connect  connect\(3, [\d.]+:5005", l) for l in client)
    if lesson == "06-close":
        assert [l[len("received: "):] for l in server if l.startswith("received: ")] == MESSAGES
        assert [l for l in client if l == "received: ok"] == ["received: ok"] * COUNT
        record_figure(f"compose up ({' '.join(cmd)}, 06-close, {COUNT} messages, -i 0): "
                      f"{elapsed:.1f} s")
