"""Huge outputs are cut by characters, and cutting never changes a grade."""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.preprocessors import LimitOutput
from nbgrader.utils import determine_grade

from course.grader.outputs import LimitOutputCharacters, cut, cut_lines, limit_output

LIMIT = 1000
FLOOD = "x" * 3_000_000


def test_text_is_cut_with_a_note_saying_how_much() -> None:
    assert cut("short", LIMIT) == ("short", 0)
    text, removed = cut(FLOOD, LIMIT)
    assert removed == len(FLOOD) - LIMIT
    assert text.startswith("x" * LIMIT)
    assert f"{removed} characters cut" in text
    assert len(text) < LIMIT + 100


def test_a_traceback_keeps_its_first_characters() -> None:
    lines, removed = cut_lines(["a" * 600, "b" * 600, "c" * 600], LIMIT)
    assert removed == 800
    assert lines[:2] == ["a" * 600, "b" * 400]
    assert "800 characters cut" in lines[-1]
    assert cut_lines(["short"], LIMIT) == (["short"], 0)


def test_a_single_huge_line_passes_nbgrader_limit_but_not_this_one() -> None:
    cell = nbformat.v4.new_code_cell("print('x' * 3_000_000)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=FLOOD)]
    by_lines, _ = LimitOutput().preprocess_cell(copy.deepcopy(cell), {}, 0)
    assert len(by_lines.outputs[0].text) == len(FLOOD)
    step = LimitOutputCharacters(max_chars=LIMIT)
    by_chars, _ = step.preprocess_cell(cell, {"nbgrader": {"notebook": "demo"}}, 0)
    assert len(by_chars.outputs[0].text) < LIMIT + 100


@pytest.mark.parametrize(
    "output",
    [
        nbformat.v4.new_output("stream", name="stdout", text=FLOOD),
        nbformat.v4.new_output("stream", name="stderr", text=FLOOD),  # stderr scores a test zero
        nbformat.v4.new_output("error", ename="ValueError", evalue=FLOOD, traceback=[FLOOD, "ValueError"]),
        nbformat.v4.new_output("execute_result", data={"text/plain": FLOOD}, execution_count=1),
        nbformat.v4.new_output("display_data", data={"text/html": [FLOOD[:2_000_000], FLOOD[:1_000_000]]}),
    ],
    ids=["stdout", "stderr", "error", "result", "html-lines"],
)
def test_cutting_keeps_the_grade_and_bounds_the_size(output: nbformat.NotebookNode) -> None:
    cell = nbformat.v4.new_code_cell("# Checks")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "t",
        "points": 2,
        "locked": True,
        "solution": False,
    }
    cell.outputs = [output]
    before = determine_grade(copy.deepcopy(cell))
    assert limit_output(cell.outputs[0], LIMIT) > 0
    assert determine_grade(cell) == before
    assert len(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))) < 10 * LIMIT


def test_an_image_too_big_to_cut_is_replaced_by_a_note() -> None:
    output = nbformat.v4.new_output("display_data", data={"image/png": FLOOD})
    assert limit_output(output, LIMIT) == len(FLOOD)
    assert output.data == {"text/plain": f"[a image/png output of {len(FLOOD)} characters was removed]"}


def test_small_outputs_are_untouched(caplog: pytest.LogCaptureFixture) -> None:
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    with caplog.at_level("WARNING"):
        LimitOutputCharacters(max_chars=LIMIT).preprocess_cell(cell, {"nbgrader": {"notebook": "demo"}}, 0)
    assert cell.outputs[0].text == "1\n"
    assert not [r for r in caplog.records if "mended" in r.getMessage()]
