"""What the instructor reads in ``grades/report.csv``: why a submission was mended, stopped or refused.

Everything here is read back from what nbgrader wrote (its log and the autograded notebook), so
the reasons describe what happened on the one grading path, not a second implementation of it.
The mending steps are read from the log by :func:`course.grader.markers.mended_steps`.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat import NotebookNode

#: Errors that end nbgrader's work on a submission, and what they mean for the instructor.
FAILURES = (
    (
        "DeadKernelError",
        "the kernel died while the notebook ran (it exited or killed its own process): nothing was graded",
    ),
    (
        "CellTimeoutError",
        "a cell ran past the cell time limit and ignored the interrupt: grading stopped",
    ),
    ("NotJSONError", "a submitted notebook is not valid JSON"),
    ("NotebookValidationError", "a submitted notebook is not a valid notebook"),
    ("No notebooks found", "no submitted notebook has an expected name"),
)
_ERROR_LINE = re.compile(r"\w(Error|Exception): ")


def failure_reason(log: str) -> str:
    """Why nbgrader could not grade a submission, from its log."""
    for marker, reason in FAILURES:
        if marker in log:
            return reason
    errors = [line.strip() for line in log.splitlines() if _ERROR_LINE.search(line)]
    return "nbgrader could not grade it: " + (errors[-1][:300] if errors else "no error message")


def _name(cell: NotebookNode) -> str:
    meta: dict[str, Any] = cell.get("metadata", {}).get("nbgrader", {})
    return str(meta.get("grade_id") or cell.get("id"))


def cell_notes(notebook: NotebookNode) -> list[str]:
    """Cells that were stopped or that exited, from an autograded notebook."""
    notes = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("ename") == "CellTimeoutError":
                notes.append(f"cell {_name(cell)} ran past the cell time limit and was interrupted")
            elif output.get("ename") == "SystemExit":
                notes.append(f"cell {_name(cell)} called sys.exit(), which stopped that cell")
    return notes
