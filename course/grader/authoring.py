"""Maintainer tools for the course's notebooks: execute, normalize, and release.

``python -m course refresh`` re-executes source notebooks and stores only what nbval compares;
``python -m course release`` regenerates ``release/`` with nbgrader. The checks prove both are
current, so run them after editing a notebook in ``source/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from course.settings import CELL_TIMEOUT_SECONDS, COURSE_ROOT, modules

IGNORE_OUTPUT_TAG = "nbval-ignore-output"
#: Cell metadata worth keeping; everything else (execution times, collapsed, scrolled) is noise.
CELL_METADATA_KEPT = ("nbgrader", "tags", "deletable", "editable")
NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info")
LANGUAGE_INFO_KEPT = ("name",)


def source_notebooks(root: Path = COURSE_ROOT) -> list[Path]:
    return sorted(path for module in modules(root) for path in (root / "source" / module).glob("*.ipynb"))


def tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


class NotebookStyleError(ValueError):
    """A notebook breaks a course convention (message says which cell and how to fix it)."""


def normalize(notebook: NotebookNode) -> NotebookNode:
    """Keep only what the checks compare: text outputs of untagged cells, execution counts."""
    notebook.metadata = {k: notebook.metadata[k] for k in NOTEBOOK_METADATA_KEPT if k in notebook.metadata}
    if "language_info" in notebook.metadata:
        info = notebook.metadata["language_info"]
        notebook.metadata["language_info"] = {k: info[k] for k in LANGUAGE_INFO_KEPT if k in info}
    for cell in notebook.cells:
        cell.metadata = {k: cell.metadata[k] for k in CELL_METADATA_KEPT if k in cell.metadata}
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        if IGNORE_OUTPUT_TAG in tags(cell):
            cell.outputs = []
        for output in cell.outputs:
            if "data" in output and any(key.startswith("image/") for key in output["data"]):
                raise NotebookStyleError(
                    f"cell {cell.get('id')} stores an image: tag it {IGNORE_OUTPUT_TAG!r} "
                    "(nbval never compares images, so they would only add noise to diffs)"
                )
    return notebook


def execute(path: Path) -> NotebookNode:
    """Run a notebook top to bottom in its own folder, as a student would (demos included)."""
    notebook = nbformat.read(path, as_version=4)
    os.environ.setdefault("MPLBACKEND", "Agg")  # the kernel inherits it: no GUI windows
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    executed: NotebookNode = notebook
    return executed


def refresh(path: Path) -> None:
    """Execute and normalize one source notebook in place."""
    notebook = normalize(execute(path))
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


def release(names: tuple[str, ...] = (), root: Path = COURSE_ROOT) -> None:
    """Regenerate ``release/<module>`` for the named modules (default: every module in ``source/``)."""
    for module in names or modules(root):
        if not (root / "source" / module).is_dir():
            raise ValueError(f"there is no source/{module} to release")
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", module, "--force", "--log-level=WARN"],
            cwd=root,
            check=True,
        )
