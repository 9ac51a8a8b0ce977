"""Feedback that never shows a hidden test: its source, or a traceback frame quoting it.

``nbgrader generate_feedback`` renders the autograded notebook, whose test cells hold the hidden
tests again (``OverwriteCells`` restores them before grading). Two feedback steps, configured for
``GenerateFeedback`` in ``nbgrader_config.py``, so that the command, the Formgrader and
``python -m course grade`` all show the same page:

* :class:`HideTestTracebacks` rewrites error outputs: IPython quotes the code around every frame,
  so a frame in a test cell would print hidden lines. The header, the frames in the student's own
  cells and ``ename: evalue`` stay (a hidden assertion's message is the hint the student sees);
  every other frame (a test cell, a locked cell, a cell holding hidden tests, a library file) and
  anything it cannot read become one line saying how many frames are hidden.
* :class:`HideHiddenTests` removes every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``
  block, in any cell (a pasted copy of a test cell is no longer a graded cell), and never fails.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from nbgrader.utils import is_locked
from traitlets import List, Unicode

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"^\s*(?:Cell In|Input In) ?\[(?P<count>\d+)\]")
FILE_FRAME = re.compile(r"^\s*File ")
HEADER = re.compile(r"^-{20,}\s*$|Traceback \(most recent call last\)")
HIDDEN_NOTE = "\x1b[2m[{frames} frame(s) outside your code hidden]\x1b[0m"


def plain(text: str) -> str:
    return ANSI.sub("", text)


def visible_traceback(traceback: list[str], ename: str, evalue: str, own_cells: Container[int]) -> list[str]:
    """``traceback`` with only the frames of ``own_cells`` (execution counts) and its message."""
    kept: list[str] = []
    hidden = 0
    message_kept = frames_seen = False

    def flush() -> None:
        nonlocal hidden
        if hidden:
            kept.append(HIDDEN_NOTE.format(frames=hidden))
            hidden = 0

    for element in traceback:
        text = plain(element)
        frame = CELL_FRAME.match(text)
        frames_seen = frames_seen or bool(frame or FILE_FRAME.match(text))
        if frame:
            if int(frame["count"]) in own_cells:
                flush()
                kept.append(element)
            else:
                hidden += 1
        elif FILE_FRAME.match(text):
            hidden += 1  # library code: no secret, but not the student's either
        elif not frames_seen and HEADER.search(text):
            flush()
            kept.append(element)
        elif text.startswith(ename) and "\n" not in text.strip():
            flush()
            kept.append(element)  # "ename: evalue", which the student sees anyway
            message_kept = True
        else:
            hidden += 1  # not a shape we know: it could quote anything
    flush()
    if not message_kept:
        kept.append(f"\x1b[31m{ename}\x1b[39m: {evalue}" if evalue else f"\x1b[31m{ename}\x1b[39m")
    return kept


class FeedbackStep(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Base of the feedback steps."""

    # The HTML exporter configures this for every nbconvert object; declared configurable, as
    # nbgrader's GetGrades does, so that traitlets does not warn it is unknown.
    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value).tag(config=True)


class HideTestTracebacks(FeedbackStep):
    """Feedback step: no traceback frame quotes a test cell's code."""

    hidden_marker = Unicode("BEGIN HIDDEN TESTS", help="marks a cell that holds hidden tests").tag(
        config=True
    )

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        own = {
            cell.execution_count
            for cell in nb.cells
            if cell.cell_type == "code"
            and cell.get("execution_count") is not None
            and not is_locked(cell)
            and self.hidden_marker not in cell.source
        }
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = visible_traceback(
                        list(output.get("traceback", [])),
                        str(output.get("ename", "")),
                        str(output.get("evalue", "")),
                        own,
                    )
        return nb, resources


def without_hidden_tests(source: str, begin: str, end: str) -> tuple[str, bool]:
    """``source`` without its hidden blocks, delimiter lines included; (source, whether any went).

    Unlike nbgrader's ``ClearHiddenTests`` it never raises: a block left open (a student's cell
    may hold anything) hides everything after its start.
    """
    kept, inside, removed = [], False, False
    for line in source.split("\n"):
        if begin in line:
            inside = removed = True
        elif end in line and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept), removed


class HideHiddenTests(FeedbackStep):
    """Feedback step: remove the hidden-test blocks of every cell.

    nbgrader's ``ClearHiddenTests`` does this for release notebooks, but raises on a cell whose
    delimiters do not pair up and, unless told otherwise, on hidden tests outside a graded cell
    (a pasted copy of a test cell is no longer graded): feedback must never fail that way.
    """

    begin_test_delimeter = Unicode(
        ClearHiddenTests.begin_test_delimeter.default_value, help="starts a hidden block"
    ).tag(config=True)
    end_test_delimeter = Unicode(ClearHiddenTests.end_test_delimeter.default_value, help="ends it").tag(
        config=True
    )

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        cell.source, _ = without_hidden_tests(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        return cell, resources
