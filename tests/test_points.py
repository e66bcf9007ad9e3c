"""Grading points: every test of a lesson carries its lesson and points, and
each lesson's points add up to its share: 100 for the seed's lessons (01-socket 10,
02-bind 15, 03-listen 15, 04-accept 20, 05-send-recv 25, 06-close 15) and 60 for
those beyond one client (07-framing, 08-fork, 09-poll, 10-epoll: 15 each).

The lessons' tests are collected by a pytest of their own, with a tiny
plugin that writes each collected test's markers to a file.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from labharness import LESSONS, ROOT

POINTS = {"01-socket": 10, "02-bind": 15, "03-listen": 15,
          "04-accept": 20, "05-send-recv": 25, "06-close": 15,
          "07-framing": 15, "08-fork": 15, "09-poll": 15, "10-epoll": 15}

PLUGIN = textwrap.dedent('''
    import json, os

    def pytest_collection_finish(session):
        rows = []
        for item in session.items:
            p = item.get_closest_marker("points")
            l = item.get_closest_marker("lesson")
            rows.append({"id": item.nodeid,
                         "points": p.args[0] if p else None,
                         "lesson": l.args[0] if l else None})
        with open(os.environ["POINTS_DUMP"], "w") as f:
            json.dump(rows, f)
''')


def collected_markers(tmp_path):
    (tmp_path / "pointsdump.py").write_text(PLUGIN)
    dump = tmp_path / "points.json"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "pointsdump", "lessons"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "POINTS_DUMP": str(dump)})
    if r.returncode != 0:
        pytest.fail(f"collecting the lessons' tests failed:\n{r.stdout}\n{r.stderr}")
    return json.loads(dump.read_text())


def test_every_lesson_test_has_a_lesson_and_points_and_the_totals_add_up(tmp_path):
    rows = collected_markers(tmp_path)
    assert rows, "no lesson tests were collected"
    totals = {}
    for row in rows:
        assert row["lesson"] is not None, f"{row['id']}: no @pytest.mark.lesson"
        assert isinstance(row["points"], int) and row["points"] > 0, f"{row['id']}: no @pytest.mark.points(N)"
        folder = row["id"].split("/")[1]
        assert row["lesson"] == folder, f"{row['id']}: marked lesson {row['lesson']} but lives in {folder}"
        totals[row["lesson"]] = totals.get(row["lesson"], 0) + row["points"]
    assert totals == POINTS, f"points per lesson should be {POINTS}, are {totals}"
    assert sum(v for l, v in totals.items() if l < "07") == 100
    assert sum(totals.values()) == 160
    assert sorted(totals) == LESSONS, f"every lesson has graded tests: {LESSONS}"
