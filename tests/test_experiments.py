"""test_experiments.py - the lessons' pages end as labs: "Predict, then run"
experiments and questions, each answer folded in a <details> block, and the
code they quote is the lesson's code.

The <details> blocks must fold on GitHub and on the Doxygen site (make docs):
docs/lesson-pages.py drops the blank lines inside them for Doxygen, and no
line inside may start like a Markdown list item ("3. ...": Doxygen would
break the block there).
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = sorted((ROOT / "lessons").glob("0[1-6]-*/README.md"))
# The library functions lessons no longer call (they write the code now) or
# that the trace replaced: a page quoting them is out of date.
GONE = ("send_all", "recv_exactly", "passive_addr", "trace_call", "trace_view", "trace_note",
        "set_timeouts", "NO_VIEW")


def sections(text):
    """{heading: body} of the page's '## ' sections, in order."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def items(body):
    """The numbered items of a section: a list of their texts."""
    return re.split(r"^\d+\. ", body, flags=re.M)[1:]


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_page_ends_with_experiments_and_questions_each_with_a_folded_answer(readme):
    text = readme.read_text(encoding="utf-8")
    heads = list(sections(text))
    assert heads[-2:] == ["Predict, then run", "Questions"], f"{readme}: the page should end with them: {heads}"
    for name in ("Predict, then run", "Questions"):
        its = items(sections(text)[name])
        assert len(its) >= 2, f"{readme}: {name} has {len(its)} items"
        for it in its:
            assert it.count("<details><summary>Answer</summary>") == 1 and it.count("</details>") == 1, (
                f"{readme}: each item of {name!r} has one folded answer:\n{it[:300]}")
    for it in items(sections(text)["Predict, then run"]):
        question = it.split("<details>")[0]
        assert "`" in question, f"{readme}: an experiment gives a command to run:\n{question}"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_details_blocks_survive_doxygen(readme):
    inside = False
    for n, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        if "<details>" in line:
            assert not inside, f"{readme}:{n}: nested <details>"
            inside = True
        elif "</details>" in line:
            assert inside, f"{readme}:{n}: </details> without <details>"
            inside = False
        elif inside:
            assert not re.match(r"\s*\d+\.\s", line), (
                f"{readme}:{n}: a line in an answer starts like a list item; Doxygen splits the block: {line!r}")
            assert not line.lstrip().startswith("```"), f"{readme}:{n}: no code block inside an answer"
    assert not inside, f"{readme}: <details> not closed"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_walk_through_quotes_the_lessons_code(readme):
    """Every code line the walk-through quotes is a line of the lesson's .c files."""
    code = set()
    for c in readme.parent.glob("*.c"):
        code.update(" ".join(l.split()) for l in c.read_text().splitlines())
    text = readme.read_text(encoding="utf-8")
    walk = "".join(body for head, body in sections(text).items() if head.startswith("Walk through"))
    missing = []
    for block in re.findall(r"```c\n(.*?)```", walk, re.S):
        for line in block.splitlines():
            line = " ".join(line.split())
            if not line or line == "..." or line.startswith(("/*", "*", "//")):
                continue
            if line not in code:
                missing.append(line)
    assert not missing, f"{readme}: the walk-through quotes code the lesson does not have: {missing}"
    gone = [g for g in GONE if re.search(rf"\b{g}\b", text)]
    assert not gone, f"{readme}: names functions the lessons no longer use: {gone}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_doxygen_site_folds_the_answers(tmp_path):
    if not shutil.which("doxygen") or not shutil.which("dot"):
        pytest.skip("doxygen and graphviz are not installed (apt-get install doxygen graphviz)")
    r = subprocess.run(["make", "-s", "docs", f"DOCS_DIR={tmp_path}"], cwd=ROOT, capture_output=True,
                       text=True, timeout=280)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    for readme in READMES:
        n = readme.read_text(encoding="utf-8").count("<details>")
        page = (tmp_path / "html" / f"lesson_{readme.parent.name[:2]}.html").read_text(encoding="utf-8")
        body = page[page.index("Predict, then"):]     # "... run", or "... look: the timeline" first
        # One <details> per answer, each with its summary inside it (Doxygen
        # splits a block at a blank line into several: more <details> than answers).
        assert body.count("<details>") == n and body.count("</details>") == n, readme
        assert len(re.findall(r"<details>\s*<summary>Answer</summary>", body)) == n, readme
