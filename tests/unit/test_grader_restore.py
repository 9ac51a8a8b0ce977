"""Deleted locked and graded cells come back from the gradebook, where they were, accepted by nbgrader."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import compute_checksum
from traitlets.config import LoggingConfigurable

from course.grader.restore import (
    RestoreDeletedCells,
    insertion_index,
    place_key,
    restore_missing,
    stored_cells,
)
from tests.unit.grader_notebooks import (
    ASSIGNMENT,
    NOTEBOOK,
    grade_ids,
    make_gradebook,
    quiet_logger,
    resources,
    source_notebook,
)

SOURCE = source_notebook()
ORDER = [place_key(cell) for cell in SOURCE.cells]


def without(*cell_ids: str) -> NotebookNode:
    notebook = copy.deepcopy(SOURCE)
    notebook.cells = [cell for cell in notebook.cells if cell.get("id") not in cell_ids]
    return notebook


@pytest.mark.parametrize(
    ("deleted", "name", "index"),
    [
        (("setup",), "setup", 1),  # after the introduction, not after the lesson before Part A
        (("part-a-tests",), "part-a-tests", 6),  # after the demo cell that followed the solution
        (("part-a-solution", "part-a-tests"), "part-a-tests", 5),  # no solution: still before Part B
        (("part-b-tests",), "part-b-tests", 8),  # right after a locked statement
        (("part-b-md", "part-b-tests", "summary"), "part-b-tests", 7),  # nothing after it: at the end
    ],
)
def test_a_missing_cell_goes_where_it_was(deleted: tuple[str, ...], name: str, index: int) -> None:
    assert insertion_index(without(*deleted).cells, ORDER, name) == index


def test_a_cell_the_student_moved_up_does_not_drag_the_restored_one_with_it() -> None:
    notebook = without("part-a-tests")
    part_b = notebook.cells.pop(6)  # part-b-md, moved above Part A
    notebook.cells.insert(2, part_b)
    index = insertion_index(notebook.cells, ORDER, "part-a-tests")
    assert grade_ids(notebook)[index - 1] == "(part-a-demo)"


def test_every_deleted_locked_or_graded_cell_comes_back_in_order_and_nbgrader_accepts_it(
    tmp_path: Path,
) -> None:
    db = make_gradebook(tmp_path)
    names, stored = stored_cells(f"sqlite:///{db}", NOTEBOOK, ASSIGNMENT)
    assert names == [n for n in grade_ids(SOURCE) if not n.startswith("(")]  # every nbgrader cell
    assert {c.name for c in stored} == {"setup", "part-a-md", "part-a-tests", "part-b-md", "part-b-tests"}
    notebook = without("setup", "part-a-tests", "part-b-md", "part-b-tests")
    restored = restore_missing(notebook, stored, ORDER)
    assert restored == ["setup", "part-a-tests", "part-b-md", "part-b-tests"]
    assert grade_ids(notebook) == grade_ids(SOURCE)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in restored:
            # OverwriteCells compares this checksum and raises if it cannot make it match.
            assert compute_checksum(cell) == cell.metadata.nbgrader["checksum"]
    MetadataValidator().validate_nb(notebook)
    assert len({cell["id"] for cell in notebook.cells}) == len(notebook.cells)


def test_nbgrader_own_restoring_raises_where_the_preprocessor_restores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = make_gradebook(tmp_path)
    with pytest.raises(KeyError):  # the cell before part-b-tests is a locked markdown cell
        OverwriteCells(add_missing_cells=True).preprocess(without("part-b-tests"), resources(db))
    step = RestoreDeletedCells(log=quiet_logger("restore"))
    with caplog.at_level("WARNING"):
        notebook, _ = step.preprocess(without("part-b-tests"), resources(db))
    assert grade_ids(notebook) == grade_ids(SOURCE)
    mine = [r.getMessage() for r in caplog.records if r.name == "tests.grader.restore"]
    assert mine == ["course-grader mended demo: restored deleted cell part-b-tests"]
    OverwriteCells().preprocess(notebook, resources(db))  # no "Inconsistent checksums" error


class Converter(LoggingConfigurable):  # type: ignore[misc]
    """Stands for the nbgrader converter whose course directory the preprocessor reads."""

    def __init__(self, coursedir: CourseDirectory) -> None:
        super().__init__()
        self.coursedir = coursedir


def test_the_source_notebook_gives_the_order_when_the_course_has_one(tmp_path: Path) -> None:
    db = make_gradebook(tmp_path)
    alone, _ = RestoreDeletedCells().preprocess(without("setup"), resources(db))
    # The gradebook knows only nbgrader cells: the set-up cell lands after the lesson ...
    assert grade_ids(alone)[:3] == ["(intro)", "(lesson)", "setup"]
    source = tmp_path / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(SOURCE, source)
    converter = Converter(CourseDirectory(root=str(tmp_path)))
    placed, _ = RestoreDeletedCells(parent=converter).preprocess(without("setup"), resources(db))
    assert grade_ids(placed) == grade_ids(SOURCE)  # ... the source puts it right after the intro
