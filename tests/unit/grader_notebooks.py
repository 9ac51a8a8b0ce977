"""Canned notebooks and gradebooks for the grader's unit tests (no kernel, no server).

The source notebook has every shape nbgrader's own restoring trips over: a locked set-up cell
between plain cells, a demo cell between a solution and its test, and a test cell right after a
locked statement (no solution cell before it).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ComputeChecksums, SaveCells

ASSIGNMENT, NOTEBOOK = "01_demo", "demo"
HIDDEN_ASSERT = 'assert double(21) == 42, "double() must double"'


def nbgrader_cell(kind: str, cell_id: str, source: str, **meta: Any) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell["id"] = cell_id
    if meta:
        meta = {"grade": False, "locked": False, "solution": False, "schema_version": 3, **meta}
        cell.metadata["nbgrader"] = {"grade_id": cell_id, **meta}
    return cell


def source_notebook() -> NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Objectives", id="intro"),
        nbgrader_cell("code", "setup", "import math", locked=True),
        nbformat.v4.new_code_cell("print(math.pi)", id="lesson"),
        nbgrader_cell("markdown", "part-a-md", "## Part A (2 points)", locked=True),
        nbgrader_cell("code", "part-a-solution", "def double(x):\n    return 2 * x", solution=True),
        nbformat.v4.new_code_cell("double(2)", id="part-a-demo"),
        nbgrader_cell(
            "code",
            "part-a-tests",
            "# Checks Part A\nassert double(1) == 2\n### BEGIN HIDDEN TESTS\n"
            f"{HIDDEN_ASSERT}\n### END HIDDEN TESTS",
            grade=True,
            locked=True,
            points=2,
        ),
        nbgrader_cell("markdown", "part-b-md", "## Part B (3 points)", locked=True),
        nbgrader_cell(
            "code", "part-b-tests", "# Checks Part B\nassert math.pi > 3", grade=True, locked=True, points=3
        ),
        nbformat.v4.new_markdown_cell("# Summary", id="summary"),
    ]
    checksummed, _ = ComputeChecksums().preprocess(notebook, {})
    return checksummed


def resources(db: Path) -> dict[str, Any]:
    return {"nbgrader": {"db_url": f"sqlite:///{db}", "assignment": ASSIGNMENT, "notebook": NOTEBOOK}}


@functools.cache
def _template_gradebook() -> Path:
    """Built once per test process: creating a gradebook runs `alembic` (a few seconds)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-unit-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = folder / "gradebook.db"
    with pytest.MonkeyPatch.context() as patch:  # nbgrader runs `alembic` from PATH
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        with Gradebook(f"sqlite:///{db}") as book:
            book.update_or_create_assignment(ASSIGNMENT)
        SaveCells().preprocess(source_notebook(), resources(db))
    return db


def make_gradebook(folder: Path) -> Path:
    """A gradebook in ``folder`` that knows :func:`source_notebook`, as generate_assignment leaves it."""
    return Path(shutil.copy(_template_gradebook(), folder / "gradebook.db"))


def grade_ids(notebook: NotebookNode) -> list[str]:
    return [c.metadata.get("nbgrader", {}).get("grade_id") or f"({c.get('id')})" for c in notebook.cells]


def quiet_logger(name: str) -> logging.Logger:
    """A logger caplog sees (a preprocessor without an app logs to traitlets' own logger)."""
    logger = logging.getLogger(f"tests.grader.{name}")
    logger.setLevel(logging.INFO)
    return logger
