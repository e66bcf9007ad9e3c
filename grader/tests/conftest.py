# grader/tests/conftest.py - `make redteam`'s closing table: each attack the
# red team tried (grader/tests/test_redteam.py), in which mode, and whether
# the grader held (the test passed). Tests name their attack and mode in
# their user_properties; other tests do not show here.


def pytest_terminal_summary(terminalreporter):
    rows = []
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []))
            if "attack" not in props or (report.when != "call" and outcome == "passed"):
                continue
            if outcome == "skipped":
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
                held = "skipped: " + str(reason).removeprefix("Skipped: ")
            else:
                held = "yes" if outcome == "passed" else "NO"
            rows.append((props["attack"], props["mode"], held))
    if not rows:
        return
    width = max(len(a) for a, _, _ in rows)
    terminalreporter.section("red team: attack, mode, held")
    terminalreporter.write_line(f"{'attack':<{width}}  {'mode':<7}  held")
    for attack, mode, held in sorted(set(rows)):
        terminalreporter.write_line(f"{attack:<{width}}  {mode:<7}  {held}")
