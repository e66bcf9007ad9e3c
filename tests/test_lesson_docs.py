"""The lessons' READMEs: each exists, and the program output they quote is what
the programs print today (tools/lesson-output.py --check)."""
import re
import subprocess
import sys

from labharness import BUILD, LESSONS, ROOT

OUTPUT_BLOCK = re.compile(r"<!-- output: ([\w.-]+) -->\n```text\n.*?```\n<!-- end output -->", re.S)


def test_every_lesson_has_a_readme_with_a_title_and_real_output():
    for lesson in LESSONS:
        readme = ROOT / "lessons" / lesson / "README.md"
        assert readme.is_file(), f"{readme} is missing"
        text = readme.read_text(encoding="utf-8")
        number = lesson[:2]
        assert text.startswith(f"# Lesson {number}: "), f"{readme} must start with '# Lesson {number}: '"
        assert OUTPUT_BLOCK.search(text), f"{readme} quotes no generated output block"


def test_lesson_output_blocks_match_what_the_programs_print_now():
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lesson-output.py"), "--check", "--build", str(BUILD)],
        capture_output=True, text=True, timeout=50)
    assert run.returncode == 0, (
        "README output is stale; run 'make lesson-output' and commit the READMEs:\n" + run.stderr)


def test_lesson_output_check_catches_a_stale_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Lesson 01: socket\n\n<!-- output: 01-server -->\n```text\n"
                      "$ build/01-socket/server 0\nsomething the server never printed\n"
                      "```\n<!-- end output -->\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lesson-output.py"), "--check", "--build", str(BUILD),
         str(readme)], capture_output=True, text=True, timeout=50)
    assert run.returncode == 1
    assert "block '01-server' is stale" in run.stderr
    assert "-something the server never printed" in run.stderr
