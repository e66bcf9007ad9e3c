# conftest.py - makes the harness in tests/ available to every test,
# including the tests that live beside each lesson in lessons/*/tests/,
# and sorts the suite into two tiers:
#   make test       the quick tier, every test not marked slow (about a minute)
#   make test-all   everything: the slow tier too (grading end to end, the
#                   red team, Docker, the docs in a browser, valgrind, the
#                   timelines, C10K); this is what CI runs
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))

pytest_plugins = ["labharness"]

# Whole files of the slow tier: each runs whole programs many times over
# (a grading of every lesson, a doxygen build, valgrind, packet captures).
SLOW_DIRS = ("grader/tests", "tests/docker")
SLOW_FILES = ("tests/test_docs.py", "tests/test_valgrind.py", "tests/test_timeline.py",
              "tests/test_loadgen.py", "tests/test_seed_interop.py", 
              "tests/test_lesson_docs.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix() \
            if str(item.fspath).startswith(str(ROOT)) else ""
        if rel.startswith(SLOW_DIRS) or rel in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
