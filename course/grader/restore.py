"""Put back the locked and graded cells a student deleted, from the gradebook, where they belong.

nbgrader restores the source of *edited* locked cells (``OverwriteCells``), but a *deleted* test
cell is simply missing: correct work then scores zero. ``OverwriteCells.add_missing_cells`` puts
test cells back, but places each one after the previous solution or test cell and raises
``KeyError`` when that cell is missing too or is a locked markdown cell, and it never restores a
deleted set-up cell. :class:`RestoreDeletedCells` restores every locked cell (set-up, statements,
tests) and every graded cell, in the source notebook's order, whatever else was deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from course.grader.markers import log_mended

_NOT_IN_AN_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class StoredCell:
    """A cell as the gradebook keeps it (what generate_assignment saved)."""

    name: str
    cell_type: str
    source: str
    checksum: str | None
    locked: bool
    points: float | None = None  # set for graded cells
    solution: bool = False
    task: bool = False


def grade_id(cell: NotebookNode) -> str | None:
    name: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return name


def place_key(cell: NotebookNode) -> str:
    """What finds a cell again in a submission: its grade id, else its cell id."""
    return grade_id(cell) or f"cell id {cell.get('id')}"


def insertion_index(cells: Sequence[NotebookNode], order: Sequence[str], name: str) -> int:
    """Where the missing cell ``name`` goes among ``cells``, given the source order of
    :func:`place_key` keys (any cell of the source the student kept is a landmark).

    Just before the closest later source cell still present (so that cells the student added
    after the previous one stay before it), unless the student moved that one above the closest
    earlier present cell: then just after the earlier one. With neither, at the end.
    """
    position = {place_key(cell): index for index, cell in enumerate(cells)}
    where = order.index(name)
    earlier = next((position[k] for k in reversed(order[:where]) if k in position), None)
    later = next((position[k] for k in order[where + 1 :] if k in position), None)
    if later is not None and (earlier is None or earlier < later):
        return later
    if earlier is not None:
        return earlier + 1
    return len(cells)


def _cell_id(name: str, taken: set[str]) -> str:
    base = ("restored-" + _NOT_IN_AN_ID.sub("-", name))[:56]
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def restored_cell(stored: StoredCell, taken_ids: set[str]) -> NotebookNode:
    """A notebook cell equal to ``stored`` (same checksum), with a fresh cell id."""
    if stored.cell_type == "code":
        cell: NotebookNode = nbformat.v4.new_code_cell(source=stored.source)
    else:
        cell = nbformat.v4.new_markdown_cell(source=stored.source)
    graded = stored.points is not None and not stored.task
    meta: dict[str, Any] = {
        "grade": graded,
        "grade_id": stored.name,
        "locked": stored.locked,
        "schema_version": 3,
        "solution": stored.solution,
    }
    if graded:
        meta["points"] = stored.points
    if stored.task:
        meta["task"] = True
        meta["points"] = stored.points
    if stored.checksum:
        meta["checksum"] = stored.checksum
    cell.metadata = nbformat.from_dict({"nbgrader": meta, "deletable": False})
    if stored.locked:
        cell.metadata["editable"] = False
    cell["id"] = _cell_id(stored.name, taken_ids)
    return cell


def restore_missing(nb: NotebookNode, stored: Sequence[StoredCell], order: Sequence[str]) -> list[str]:
    """Insert every cell of ``stored`` that ``nb`` lacks; return their names, in source order."""
    wanted = {cell.name: cell for cell in stored}
    order = [*order, *(name for name in wanted if name not in order)]
    present = {place_key(cell) for cell in nb.cells}
    restored = []
    for name in order:
        if name not in wanted or name in present:
            continue
        taken = {str(cell.get("id")) for cell in nb.cells}
        nb.cells.insert(insertion_index(nb.cells, order, name), restored_cell(wanted[name], taken))
        present.add(name)
        restored.append(name)
    return restored


def stored_cells(db_url: str, notebook: str, assignment: str) -> tuple[list[str], list[StoredCell]]:
    """Every nbgrader cell's name (in the gradebook's order) and the cells a student must not lose:
    locked, graded and task cells."""
    with Gradebook(db_url) as gradebook:
        saved = gradebook.find_notebook(notebook, assignment)
        points = {cell.name: float(cell.max_score) for cell in [*saved.grade_cells, *saved.task_cells]}
        solutions = {cell.name for cell in saved.solution_cells}
        tasks = {cell.name for cell in saved.task_cells}
        names = [cell.name for cell in saved.source_cells]
        return names, [
            StoredCell(
                name=cell.name,
                cell_type=cell.cell_type,
                source=cell.source,
                checksum=cell.checksum,
                locked=bool(cell.locked),
                points=points.get(cell.name),
                solution=cell.name in solutions,
                task=cell.name in tasks,
            )
            for cell in saved.source_cells
            if cell.locked or cell.name in points
        ]


class RestoreDeletedCells(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Sanitizing step: restore deleted locked and graded cells from the gradebook."""

    def _source_notebook(self, assignment: str, notebook: str) -> Path | None:
        """The instructor's source notebook, which gives the cells' order (the gradebook has none)."""
        node = self.parent
        while node is not None:
            coursedir = getattr(node, "coursedir", None)
            if coursedir is not None:
                folder = coursedir.format_path(coursedir.source_directory, ".", assignment)
                path = Path(folder) / f"{notebook}.ipynb"
                return path if path.is_file() else None
            node = getattr(node, "parent", None)
        return None

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        order, stored = stored_cells(info["db_url"], info["notebook"], info["assignment"])
        source = self._source_notebook(info["assignment"], info["notebook"])
        if source is not None:
            in_source = [place_key(cell) for cell in nbformat.read(source, as_version=4).cells]
            order = in_source + [name for name in order if name not in in_source]
        for name in restore_missing(nb, stored, order):
            log_mended(self.log, info["notebook"], f"restored deleted cell {name}")
        return nb, resources
