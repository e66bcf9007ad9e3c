"""test_docker_skip.py - without a Docker engine the Docker tests skip, and REQUIRE_DOCKER=1 fails them.

These run everywhere (no engine needed): each starts a child pytest on one Docker test with
DOCKER_HOST pointing at a socket that does not exist.
"""
import os
import re
import subprocess
import sys

from dockerlab import ROOT

# The reason the skip gives: no docker CLI here at all, or a CLI with no engine behind it.
NO_ENGINE = r"(no docker command|no Docker engine answers)"


def run_docker_tests_without_engine(extra_env):
    """Run one Docker test in a child pytest with no engine reachable; return (rc, output)."""
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock", **extra_env)
    env.pop("REQUIRE_DOCKER", None)
    env.update(extra_env)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-rs",
         str(ROOT / "tests/docker/test_docker.py"), "-k", "lesson_04_client_container"],
        capture_output=True, text=True, timeout=50, env=env, cwd=ROOT)
    return res.returncode, res.stdout + res.stderr


def test_without_an_engine_docker_tests_skip_with_the_reason():
    rc, out = run_docker_tests_without_engine({})
    assert rc == 0, out
    assert "1 skipped" in out and re.search(NO_ENGINE, out), out


def test_without_an_engine_require_docker_turns_the_skip_into_a_failure():
    rc, out = run_docker_tests_without_engine({"REQUIRE_DOCKER": "1"})
    assert rc == 1, out
    assert re.search(r"\b1 (failed|error)\b", out), out
    assert re.search("REQUIRE_DOCKER=1 but " + NO_ENGINE, out), out
