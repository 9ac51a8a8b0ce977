"""Every source notebook follows the course's conventions; every release notebook is clean."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from course.grader.authoring import IGNORE_OUTPUT_TAG, normalize, source_notebooks, tags
from course.settings import COURSE_ROOT

SOURCES = source_notebooks()
RELEASES = sorted((COURSE_ROOT / "release").glob("*/*.ipynb"))


def load(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell: NotebookNode) -> dict[str, object]:
    meta: dict[str, object] = cell.metadata.get("nbgrader", {})
    return meta


def ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_source_notebook_structure(path: Path) -> None:
    notebook = load(path)
    cells = notebook.cells
    assert cells[0].cell_type == "markdown"
    assert "Objectives" in cells[0].source
    setup = next(c for c in cells if c.cell_type == "code")
    assert nbgrader_meta(setup).get("locked"), "the first code cell is the locked set-up cell"
    assert not nbgrader_meta(setup).get("grade")
    assert "%load_ext course" in setup.source
    assert "check_sandbox(" in setup.source
    assert cells[-1].cell_type == "markdown"
    assert "Summary" in cells[-1].source
    assert "akeaways" in cells[-1].source


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_graded_cells_state_what_they_check_and_hide_tests(path: Path) -> None:
    cells = load(path).cells
    graded = [c for c in cells if nbgrader_meta(c).get("grade")]
    assert graded, "a module needs graded exercises"
    for cell in graded:
        meta = nbgrader_meta(cell)
        assert meta.get("locked"), f"{cell.id}: test cells are locked"
        assert float(str(meta.get("points", 0))) > 0, f"{cell.id}: points"
        assert cell.source.startswith("# Checks "), f"{cell.id}: first line must say what it checks"
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{cell.id}: hidden tests"
    # The points announced in "## Part X (N points)" headings add up to the graded points.
    announced = sum(
        int(m.group(1))
        for c in cells
        if c.cell_type == "markdown"
        for m in re.finditer(r"^## Part [A-Z] \((\d+) points?\)", c.source, re.MULTILINE)
    )
    assert announced == sum(float(str(nbgrader_meta(c)["points"])) for c in graded)


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_ids_are_unique(path: Path) -> None:
    cells = load(path).cells
    cell_ids = [c.id for c in cells]
    assert len(cell_ids) == len(set(cell_ids))
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids))


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_measurements_and_plots_are_demos_skipped_when_grading(path: Path) -> None:
    """Live measurements and plots (output not compared) must not cost grading time."""
    for cell in load(path).cells:
        if cell.cell_type != "code" or nbgrader_meta(cell):
            continue
        if IGNORE_OUTPUT_TAG in tags(cell) or "plt.show()" in cell.source:
            assert cell.source.startswith("%%demo"), f"{cell.id}: a measurement or plot must be a %%demo cell"
        assert "%%demo" not in cell.source[1:], f"{cell.id}: %%demo must be the first line"


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_stored_notebook_is_normalized_and_executed(path: Path) -> None:
    notebook = load(path)
    assert normalize(copy.deepcopy(notebook)) == notebook, (
        "stray metadata or outputs nbval does not compare: run `python -m course refresh`"
    )
    counts = [c.execution_count for c in notebook.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "execute top to bottom: `python -m course refresh`"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{cell.id} stores an error"


@pytest.mark.parametrize("path", RELEASES, ids=ids(RELEASES))
def test_release_notebook_hides_solutions_and_hidden_tests(path: Path) -> None:
    text = path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    for cell in load(path).cells:
        assert not cell.get("outputs"), f"{cell.id}: release notebooks carry no outputs"
