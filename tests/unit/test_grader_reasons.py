"""The misnamed-notebook hook, the log markers, and the reasons read back from nbgrader's output."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest

from course.grader.hooks import misnamed, rename_misnamed_notebook
from course.grader.markers import log_mended, mended_steps
from course.grader.reasons import cell_notes, failure_reason
from course.grader.submissions import extract_zip, find_submissions
from tests.unit.grader_notebooks import quiet_logger


@pytest.mark.parametrize(
    ("expected", "present", "renamed"),
    [
        (["pubsub.ipynb"], ["pubsub (1).ipynb"], ("pubsub (1).ipynb", "pubsub.ipynb")),
        (["a.ipynb", "b.ipynb"], ["a.ipynb", "b-copy.ipynb"], ("b-copy.ipynb", "b.ipynb")),
        (["pubsub.ipynb"], ["pubsub.ipynb", "scratch.ipynb"], None),  # nothing missing
        (["a.ipynb", "b.ipynb"], ["x.ipynb"], None),  # ambiguous: which one is it?
        (["a.ipynb"], ["x.ipynb", "y.ipynb"], None),
    ],
)
def test_only_an_unambiguous_misnaming_is_renamed(
    expected: list[str], present: list[str], renamed: tuple[str, str] | None
) -> None:
    assert misnamed(expected, present) == renamed


def test_the_hook_renames_the_file_and_the_list_nbgrader_converts_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "source" / "01_pubsub").mkdir(parents=True)
    (tmp_path / "source" / "01_pubsub" / "pubsub.ipynb").write_text("{}")
    folder = tmp_path / "submitted" / "ann" / "01_pubsub"
    folder.mkdir(parents=True)
    (folder / "pubsub (1).ipynb").write_text("{}")
    notebooks = [str(folder / "pubsub (1).ipynb")]
    monkeypatch.chdir(tmp_path)  # nbgrader runs hooks from the course root
    rename_misnamed_notebook(assignment="*", student="*", notebooks=notebooks)
    assert notebooks == [str(folder / "pubsub.ipynb")]
    assert sorted(p.name for p in folder.iterdir()) == ["pubsub.ipynb"]
    rename_misnamed_notebook(assignment="01_pubsub", student="ann", notebooks=notebooks)  # idempotent
    assert notebooks == [str(folder / "pubsub.ipynb")]
    rename_misnamed_notebook(assignment="01_pubsub", student="ann", notebooks=[])


def test_mending_lines_are_read_back_from_a_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        log_mended(quiet_logger("markers"), "pubsub", "restored deleted cell setup")
    line = f"[AutogradeApp | WARNING] {caplog.messages[0]}"
    log = f"[AutogradeApp | INFO] Sanitizing\n{line}\n{line}\n[AutogradeApp | WARNING] something else\n"
    assert mended_steps(log) == ["pubsub: restored deleted cell setup"]


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ("... nbclient.exceptions.DeadKernelError: Kernel died", "the kernel died"),
        ("nbclient.exceptions.CellTimeoutError: A cell timed out", "ignored the interrupt"),
        ("nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{x'", "not valid JSON"),
        (
            "[AutogradeApp | ERROR] No notebooks found, did you forget",
            "no submitted notebook has an expected",
        ),
        (
            "Traceback\nKeyError: 'x'\nRuntimeError: Inconsistent checksums for cell a",
            "Inconsistent checksums",
        ),
        ("nothing useful", "no error message"),
    ],
)
def test_a_failure_is_explained_from_nbgraders_log(log: str, reason: str) -> None:
    assert reason in failure_reason(log)


def test_stopped_and_exited_cells_are_noted() -> None:
    stopped = nbformat.v4.new_code_cell("while True: pass", id="loop")
    stopped.outputs = [nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="", traceback=[])]
    exited = nbformat.v4.new_code_cell("sys.exit()", id="bye")
    exited.metadata["nbgrader"] = {"grade_id": "part-b-solution"}
    exited.outputs = [nbformat.v4.new_output("error", ename="SystemExit", evalue="1", traceback=[])]
    assert cell_notes(nbformat.v4.new_notebook(cells=[stopped, exited])) == [
        "cell loop ran past the cell time limit and was interrupted",
        "cell part-b-solution called sys.exit(), which stopped that cell",
    ]


def test_a_zip_of_submissions_is_unpacked_safely(tmp_path: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("submitted/ann/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("bob/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("../evil/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("ann/01_pubsub/../../../escape.ipynb", "{}")
        bundle.writestr("/abs/01_pubsub/x.ipynb", "{}")
    course = tmp_path / "course"
    assert sorted(extract_zip(archive, course / "submitted")) == [
        "ann/01_pubsub/pubsub.ipynb",
        "bob/01_pubsub/pubsub.ipynb",
    ]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.ipynb")) == [
        "course/submitted/ann/01_pubsub/pubsub.ipynb",
        "course/submitted/bob/01_pubsub/pubsub.ipynb",
    ]
    found = find_submissions(course, ["01_pubsub", "02_cluster"], students=["bob"])
    assert [(s.student, s.module) for s in found] == [("bob", "01_pubsub")]
    assert find_submissions(tmp_path / "nowhere", ["01_pubsub"]) == []
