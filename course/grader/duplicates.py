"""Duplicated ids in a submission: cell ids (repaired by nbformat) and grade ids (nbgrader's fix).

A student who copies and pastes cells in an editor that keeps their ids submits two cells with one
cell id; nbformat renames the copy while reading the notebook, silently, so
:class:`ReportDuplicatedCellIds` reads the file as submitted to say so. A pasted copy of a graded
cell repeats its *grade id*: nbgrader's ``DeduplicateIds`` keeps the last copy and turns the others
into ordinary cells; :class:`DeduplicateGradeIds` is that step, logging what it changed. It also
drops the empty ``nbgrader`` metadata ``DeduplicateIds`` leaves behind: nbgrader 0.9.6 reads that as
an outdated schema and stops grading the whole class ("use an old version of the nbgrader metadata").
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor

from course.grader.markers import log_mended


def duplicated_cell_ids(raw: Any) -> list[str]:
    """Cell ids that occur more than once in a notebook's JSON (as a plain dict), sorted."""
    cells = raw.get("cells", []) if isinstance(raw, dict) else []
    counts = Counter(cell.get("id") for cell in cells if isinstance(cell, dict))
    return sorted(str(cell_id) for cell_id, count in counts.items() if cell_id is not None and count > 1)


class ReportDuplicatedCellIds(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Sanitizing step: log the cell ids nbformat renamed because they were duplicated."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        meta = resources.get("metadata", {})
        path = Path(meta.get("path", "")) / f"{meta.get('name', '')}.ipynb"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return nb, resources  # not read from a file: nothing nbformat could have renamed
        for cell_id in duplicated_cell_ids(raw):
            log_mended(self.log, resources["nbgrader"]["notebook"], f"renamed duplicated cell id {cell_id!r}")
        return nb, resources


class DeduplicateGradeIds(DeduplicateIds):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's ``DeduplicateIds`` (the last copy of a grade id stays graded), logged."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        before = _grade_ids(nb)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader") == {}:  # left by DeduplicateIds; fails schema validation
                del cell.metadata["nbgrader"]
        for grade_id, cleared in sorted((before - _grade_ids(nb)).items()):
            log_mended(
                self.log,
                resources["nbgrader"]["notebook"],
                f"ungraded {cleared} pasted copy(ies) of cell {grade_id} (the last copy is graded)",
            )
        return nb, resources


def _grade_ids(nb: NotebookNode) -> Counter[str]:
    return Counter(str(g) for cell in nb.cells if (g := cell.metadata.get("nbgrader", {}).get("grade_id")))
