"""tests/docker/conftest.py - fixtures for the tests that run the lessons in containers.

`docker_image` builds the socketlab image once per session (and the base image first, offline,
when it is missing); `dock` gives a test its own containers, networks and compose projects, all
removed when the test ends, pass or fail. Without a Docker engine the tests skip with the reason,
unless REQUIRE_DOCKER=1: then every skip of a Docker test is a failure (CI proves the containers).
"""
import fcntl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dockerlab import (BASE_IMAGE, BUILD_TIMEOUT, DOCKER_TEST_TIMEOUT, HERE, IMAGE,  # noqa: E402
                       REQUIRE, ROOT, Dock, docker, engine_problem, figures_path, record_figure,
                       skip_or_fail)



def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.timeout(DOCKER_TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if REQUIRE and rep.skipped and item.get_closest_marker("docker"):
        rep.outcome = "failed"
        rep.longrepr = f"REQUIRE_DOCKER=1 but this Docker test was skipped: {rep.longrepr}"


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return                          # an xdist worker: its controller prints the figures
    path = figures_path()
    try:
        lines = path.read_text().splitlines()
        path.unlink()
    except OSError:
        return
    terminalreporter.write_sep("-", "Docker figures")
    for line in lines:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def docker_image():
    """The socketlab image, built once per session (the base image first if it is missing)."""
    problem = engine_problem()
    if problem:
        skip_or_fail(problem)
    # xdist workers share the engine: one builds while the others wait, then find it cached.
    lock_path = Path("/tmp/socketlab-docker-build.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.monotonic()
        base = subprocess.run(["bash", str(ROOT / "docker" / "base-image.sh"), BASE_IMAGE],
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        if base.returncode != 0:
            skip_or_fail(f"the base image {BASE_IMAGE} is missing and could not be built:\n"
                         f"{base.stdout}{base.stderr}")
        if "imported" in base.stdout:
            record_figure(f"base image {BASE_IMAGE} built offline (debootstrap + import): "
                          f"{time.monotonic() - t0:.1f} s")
        build = ["build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", IMAGE, str(ROOT)]
        t0 = time.monotonic()
        docker(*build, timeout=BUILD_TIMEOUT)
        first = time.monotonic() - t0
        t0 = time.monotonic()
        docker(*build, timeout=BUILD_TIMEOUT)
        warm = time.monotonic() - t0
    record_figure(f"image build {first:.1f} s (with the layer cache as found; "
                  f"`make bench-docker` for a cold build), warm rebuild {warm:.1f} s")
    return IMAGE


@pytest.fixture
def dock(docker_image, request):
    """This test's containers and networks; all removed when the test ends, whatever happened."""
    d = Dock(docker_image)
    request.addfinalizer(d.cleanup)
    return d
