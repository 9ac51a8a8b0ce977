"""Feedback never shows a hidden test: not its source, not a traceback frame quoting it.

The tracebacks are canned copies of what an IPython 9 kernel sent (ANSI colours included).
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests

from course.grader.feedback import HideHiddenTests, HideTestTracebacks, plain, visible_traceback
from tests.hidden_tests import leaked, page_lines, secret_lines
from tests.unit.grader_notebooks import HIDDEN_ASSERT, source_notebook

RED, GREEN, CYAN, RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[39m"
HEADER = [
    f"{RED}{'-' * 75}{RESET}",
    f"{RED}AssertionError{RESET}                            Traceback (most recent call last)",
]


def cell_frame(count: int, line: int, code: str, function: str = "") -> str:
    where = f", in {CYAN}{function}{RESET}()" if function else ""
    header = f"{CYAN}Cell{RESET}{CYAN} {RESET}{GREEN}In[{count}]{RESET}{GREEN}, line {line}{RESET}{where}"
    return f"{header}\n{GREEN}----> {RESET}{GREEN}{line}{RESET} {code}\n"


FILE_FRAME = (
    f"{CYAN}File {RESET}{GREEN}~/lib/python3.11/json/__init__.py:346{RESET}, in {CYAN}loads{RESET}\n"
    "    return _default_decoder.decode(s)\n"
)
#: A hidden test (cell 7) calls the student's function (cell 3), which fails inside a library.
STUDENT_BUG = [
    *HEADER,
    cell_frame(7, 4, HIDDEN_ASSERT),
    cell_frame(3, 2, "return json.loads(x)", "double"),
    FILE_FRAME,
    f"{RED}JSONDecodeError{RESET}: Expecting value",
]
#: A hidden assertion fails inside a helper the test cell defines: every frame quotes the test.
HIDDEN_FAILURE = [
    *HEADER,
    cell_frame(7, 9, "check()"),
    cell_frame(7, 5, HIDDEN_ASSERT, "check"),
    f"{RED}AssertionError{RESET}: double() must double",
]


def test_only_the_students_own_frames_stay() -> None:
    shown = visible_traceback(STUDENT_BUG, "JSONDecodeError", "Expecting value", own_cells={3})
    assert shown[:2] == HEADER
    assert [plain(line) for line in shown[2:]] == [
        "[1 frame(s) outside your code hidden]",  # the test cell
        plain(STUDENT_BUG[3]),
        "[1 frame(s) outside your code hidden]",  # json's own code
        "JSONDecodeError: Expecting value",
    ]


def test_a_failed_hidden_check_shows_only_its_hint() -> None:
    shown = visible_traceback(HIDDEN_FAILURE, "AssertionError", "double() must double", own_cells={3})
    assert [plain(line) for line in shown[2:]] == [
        "[2 frame(s) outside your code hidden]",
        "AssertionError: double() must double",
    ]


def test_what_cannot_be_read_is_hidden_and_the_message_rebuilt() -> None:
    odd = ["Input In [7], in <cell line: 3>()\n----> 3 secret()", "something else entirely\nsecret()"]
    shown = visible_traceback(odd, "NameError", "name 'secret' is not defined", own_cells={3})
    assert [plain(line) for line in shown] == [
        "[2 frame(s) outside your code hidden]",
        "NameError: name 'secret' is not defined",
    ]


def test_a_syntax_error_in_the_students_cell_stays_readable() -> None:
    syntax = [
        f"  {CYAN}Cell{RESET} {GREEN}In[3], line 1{RESET}\n    def f(:\n          ^\n"
        "SyntaxError: invalid syntax\n"
    ]
    assert (
        visible_traceback(syntax, "SyntaxError", "invalid syntax (x.py, line 1)", own_cells={3})[0]
        == syntax[0]
    )


def test_nbgrader_timeout_message_stays() -> None:
    timeout = [f"{RED}CellTimeoutError{RESET}: No reply from kernel before timeout"]
    assert visible_traceback(timeout, "CellTimeoutError", "", own_cells=set()) == timeout


def graded_notebook() -> nbformat.NotebookNode:
    """The canned source as autograding leaves it: executed, the test's hidden check failed."""
    notebook = source_notebook()
    for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
    tests = next(c for c in notebook.cells if c.id == "part-a-tests")
    tests.execution_count = 7
    solution = next(c for c in notebook.cells if c.id == "part-a-solution")
    solution.execution_count = 3
    tests.outputs = [
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="double() must double", traceback=HIDDEN_FAILURE
        )
    ]
    pasted = copy.deepcopy(tests)  # a pasted copy, no longer a graded cell
    pasted["id"], pasted.metadata = "pasted", {}
    pasted.execution_count = 8
    pasted.outputs = [
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="x", traceback=[*HEADER, cell_frame(8, 5, HIDDEN_ASSERT)]
        )
    ]
    notebook.cells.append(pasted)
    return notebook


def feedback(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for step in (HideTestTracebacks(), HideHiddenTests()):
        notebook, _ = step.preprocess(notebook, {})
    return notebook


def test_feedback_html_shows_no_hidden_line_but_the_hint() -> None:
    notebook = graded_notebook()
    secrets = secret_lines(notebook)
    assert secrets == [HIDDEN_ASSERT]
    assert leaked(HTMLExporter().from_notebook_node(notebook)[0], secrets) == secrets, "the search can fail"
    html = HTMLExporter().from_notebook_node(feedback(notebook))[0]
    assert leaked(html, secrets) == []
    shown = page_lines(html)
    assert "AssertionError: double() must double" in shown, "the hint stays"
    assert "assert double(1) == 2" in shown, "the visible tests stay"


def test_the_search_finds_a_hidden_line_quoted_by_a_traceback() -> None:
    notebook, _ = HideHiddenTests().preprocess(graded_notebook(), {})  # sources clean, tracebacks not
    assert leaked(HTMLExporter().from_notebook_node(notebook)[0], [HIDDEN_ASSERT]) == [HIDDEN_ASSERT]


def test_hidden_blocks_go_from_any_cell_even_unbalanced_ones() -> None:
    notebook = graded_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nsecret()"))
    with pytest.raises(RuntimeError):  # nbgrader's own step stops the whole feedback
        ClearHiddenTests().preprocess(copy.deepcopy(notebook), {})
    shown = feedback(notebook)
    assert [c.source for c in shown.cells[-2:]] == ["# Checks Part A\nassert double(1) == 2", "x = 1"]
