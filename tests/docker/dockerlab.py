"""dockerlab - drive Docker from the tests: build the image, run containers, read their logs.

Used by tests/docker/conftest.py (the fixtures) and test_docker.py. Everything goes through the
docker CLI with a deadline, so a stuck engine fails a test instead of hanging the suite.
"""
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IMAGE = os.environ.get("SOCKETLAB_IMAGE", "socketlab:latest")
BASE_IMAGE = os.environ.get("BASE_IMAGE", "debian:bookworm-slim")
REQUIRE = os.environ.get("REQUIRE_DOCKER") == "1"
# The port the servers listen on inside a test's own network (as compose.yaml does).
PORT = 5005
# Bounds on the slow steps: the base image (debootstrap) and a cold image build (apt-get).
BUILD_TIMEOUT = 600
# Every Docker test's limit (pytest-timeout): the first one may wait for the image build.
DOCKER_TEST_TIMEOUT = 2 * BUILD_TIMEOUT + 120


def figures_path():
    """This run's figures file, named by the controlling pytest's pid: xdist workers (its
    children) write where its terminal summary reads, apart from any other run."""
    pid = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
    return Path(f"/tmp/socketlab-docker-figures-{pid}.txt")


def skip_or_fail(reason):
    """Skip a Docker test for `reason`, or fail it when REQUIRE_DOCKER=1."""
    if REQUIRE:
        pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set REQUIRE_DOCKER=1 to make this a failure)")


def docker(*args, timeout=60, check=True, env=None):
    """Run `docker ARGS`; return the CompletedProcess (text). A failure or a hang fails the test."""
    try:
        res = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                             env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"docker {' '.join(args)} did not finish within {timeout}s\n"
                             f"--- stdout:\n{e.stdout}\n--- stderr:\n{e.stderr}")
    if check and res.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {res.returncode}\n"
                             f"--- stdout:\n{res.stdout}\n--- stderr:\n{res.stderr}")
    return res


def engine_problem():
    """None when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker command (apt-get install docker.io)"
    try:
        res = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                             capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer `docker info` within 20 s"
    if res.returncode != 0:
        why = (res.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Docker engine answers ({why}); start one: docker/start-dockerd.sh"
    return None


def compose_commands():
    """The Compose CLIs installed: [['docker', 'compose'], ['docker-compose']], as found."""
    found = []
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True, timeout=20).returncode == 0:
        found.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    return found


def record_figure(text):
    """Append one line to the figures the terminal summary prints."""
    with open(figures_path(), "a") as f:
        f.write(text + "\n")


class Dock:
    """One test's Docker objects, each named with the test's own prefix and removed at the end."""

    def __init__(self, image):
        self.image = image
        self.prefix = "sltest-" + uuid.uuid4().hex[:10]
        self.containers = []
        self.networks = []
        self.projects = []

    def network(self):
        name = f"{self.prefix}-net{len(self.networks)}"
        docker("network", "create", name)
        self.networks.append(name)
        return name

    def run(self, role, argv, network, alias=None):
        """Start a container (detached) running argv; return its name."""
        name = f"{self.prefix}-{role}{len(self.containers)}"
        self.containers.append(name)
        opts = ["--name", name, "--network", network, "--init"]
        if alias:
            opts += ["--network-alias", alias]
        docker("run", "-d", *opts, self.image, *argv)
        return name

    def logs(self, name):
        """(stdout, stderr) of a container so far."""
        res = docker("logs", name)
        return res.stdout, res.stderr

    def wait_for_log(self, name, pattern, stream="stdout", timeout=20):
        """Poll the container's log until `pattern` matches; a missed deadline fails."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            out, err = self.logs(name)
            m = rx.search(out if stream == "stdout" else err)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: {pattern!r} never appeared on {stream} within "
                                     f"{timeout}s\n--- stdout:\n{out}\n--- stderr:\n{err}")
            time.sleep(0.1)

    def wait_listening(self, name, port=PORT, timeout=20):
        """Poll until `port` is in LISTEN inside the container (compose.yaml's healthcheck)."""
        probe = (f"$2 ~ /:{port:04X}$/ && $4 == \"0A\" {{ up = 1 }} END {{ exit !up }}")
        deadline = time.monotonic() + timeout
        while docker("exec", name, "awk", probe, "/proc/net/tcp", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: nothing listens on port {port} after {timeout}s")
            time.sleep(0.1)

    def docker_stop(self, name, grace=1):
        """Stop a container as `docker stop` does: SIGTERM, then SIGKILL after `grace` s."""
        docker("stop", "-t", str(grace), name, timeout=30)

    def disconnect(self, network, name):
        """Pull a running container off a network, as if its cable were cut."""
        docker("network", "disconnect", network, name)

    def exec_detached(self, name, argv):
        """Start argv inside a running container, in the background."""
        docker("exec", "-d", name, *argv)

    def wait(self, name, timeout=30):
        """The container's exit code; a container still running after `timeout` fails the test."""
        res = docker("wait", name, timeout=timeout)
        return int(res.stdout.strip())

    def compose(self, cmd, *args, env=None, timeout=120):
        """Run a Compose command in this test's own project; return the CompletedProcess."""
        project = self.prefix.replace("-", "")
        if (cmd, project) not in self.projects:
            self.projects.append((cmd, project))
        full = dict(os.environ, SOCKETLAB_IMAGE=self.image, **(env or {}))
        try:
            return subprocess.run([*cmd, "-f", str(ROOT / "compose.yaml"), "-p", project, *args],
                                  capture_output=True, text=True, timeout=timeout, env=full,
                                  cwd=ROOT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(cmd)} {' '.join(args)} did not finish within "
                                 f"{timeout}s\n--- output:\n{e.stdout}\n{e.stderr}")

    def cleanup(self):
        for cmd, project in self.projects:
            subprocess.run([*cmd, "-f", str(ROOT / "compose.yaml"), "-p", project, "down",
                            "-v", "--remove-orphans", "-t", "1"],
                           capture_output=True, timeout=120, cwd=ROOT)
        if self.containers:
            subprocess.run(["docker", "rm", "-f", "-v", *self.containers],
                           capture_output=True, timeout=120)
        for net in self.networks:
            subprocess.run(["docker", "network", "rm", net], capture_output=True, timeout=60)
