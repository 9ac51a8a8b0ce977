"""Duplicated cell ids are reported; pasted copies of graded cells are ungraded without breaking nbgrader."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooOldError
from nbgrader.preprocessors import DeduplicateIds

from course.grader.duplicates import DeduplicateGradeIds, ReportDuplicatedCellIds, duplicated_cell_ids
from tests.unit.grader_notebooks import grade_ids, quiet_logger, source_notebook


def mended(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        m for r in caplog.records if r.name == f"tests.grader.{name}" and "mended" in (m := r.getMessage())
    ]


def test_duplicated_cell_ids_are_found_in_the_raw_json() -> None:
    raw = {"cells": [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "b"}, {"id": "c"}, {}, "junk"]}
    assert duplicated_cell_ids(raw) == ["a", "b"]
    assert duplicated_cell_ids([]) == []


def test_the_ids_nbformat_renamed_while_reading_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notebook = source_notebook()
    notebook.cells[2]["id"] = notebook.cells[1]["id"]
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.warns(Warning, match="Non-unique cell id"):
        read = nbformat.read(path, as_version=4)  # what nbconvert hands the preprocessors
    assert len({c["id"] for c in read.cells}) == len(read.cells), "nbformat renamed the copy"
    resources = {"metadata": {"path": str(tmp_path), "name": "demo"}, "nbgrader": {"notebook": "demo"}}
    with caplog.at_level("WARNING"):
        ReportDuplicatedCellIds(log=quiet_logger("dup")).preprocess(read, resources)
    assert mended(caplog, "dup") == ["course-grader mended demo: renamed duplicated cell id 'setup'"]


def test_a_notebook_not_read_from_a_file_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        ReportDuplicatedCellIds(log=quiet_logger("nofile")).preprocess(source_notebook(), {"metadata": {}})
    assert mended(caplog, "nofile") == []


def pasted_twice() -> nbformat.NotebookNode:
    notebook = source_notebook()
    twin = copy.deepcopy(next(c for c in notebook.cells if c.id == "part-a-tests"))
    twin["id"] = "pasted"
    notebook.cells.append(twin)
    return notebook


def test_nbgrader_alone_leaves_metadata_its_own_validator_refuses() -> None:
    notebook, _ = DeduplicateIds().preprocess(pasted_twice(), {})
    with pytest.raises(SchemaTooOldError):  # this stops `nbgrader autograde` for the whole class
        MetadataValidator().validate_nb(notebook)


def test_the_last_pasted_copy_stays_graded_and_the_notebook_validates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resources = {"nbgrader": {"notebook": "demo"}}
    with caplog.at_level("WARNING"):
        notebook, _ = DeduplicateGradeIds(log=quiet_logger("grade")).preprocess(pasted_twice(), resources)
    MetadataValidator().validate_nb(notebook)
    assert grade_ids(notebook).count("part-a-tests") == 1
    assert grade_ids(notebook)[-1] == "part-a-tests", "nbgrader keeps the last copy"
    assert "nbgrader" not in next(c for c in notebook.cells if c.id == "part-a-tests").metadata
    assert mended(caplog, "grade") == [
        "course-grader mended demo: ungraded 1 pasted copy(ies) of cell part-a-tests"
        " (the last copy is graded)"
    ]


def test_a_notebook_without_copies_is_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        notebook, _ = DeduplicateGradeIds(log=quiet_logger("none")).preprocess(
            source_notebook(), {"nbgrader": {"notebook": "demo"}}
        )
    assert notebook == source_notebook()
    assert mended(caplog, "none") == []
