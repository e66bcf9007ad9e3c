# conftest.py - makes the harness in tests/ available to every test,
# including the tests that live beside each lesson in lessons/*/tests/.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

pytest_plugins = ["labharness"]
