"""The class grader's own work, with a stand-in for nbgrader (no kernel, no server): jobs copy a
snapshot taken before any of them started, each result is merged by one thread, a failed merge
is that submission's error, and the record of what was graded is saved after every merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.grader.classgrader import ClassGrader, Outcome
from course.grader.gradebook import snapshot
from course.grader.sandbox import GradingLogs, RunnerDied
from tests.unit.grader_notebooks import ASSIGNMENT, NOTEBOOK, make_gradebook, source_notebook

STUDENTS = ("ann", "bob", "cat", "dan", "eve")


class FakeNbgrader:
    """Grades like nbgrader would, instantly: ann and cat pass everything, the others as named."""

    seen: ClassVar[dict[str, set[str]]] = {}  # student -> submissions its job's gradebook knew

    def grade(self, work: Path, module: str, student: str, deadline: float) -> GradingLogs | None:
        url = f"sqlite:///{work / 'gradebook.db'}"
        with Gradebook(url) as gradebook:
            FakeNbgrader.seen[student] = {s.student.id for s in gradebook.find_assignment(module).submissions}
            if student == "dan":
                return None  # past the time limit
            if student == "eve":
                raise RunnerDied("the grading worker exited: boom")
            if student != "bob":  # bob's grades never reach its gradebook: merging them fails
                gradebook.update_or_create_student(student)
                submission = gradebook.update_or_create_submission(module, student)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade.auto_score = grade.max_score
                gradebook.db.commit()
        for step, name in (("autograded", f"{NOTEBOOK}.ipynb"), ("feedback", f"{NOTEBOOK}.html")):
            folder = work / step / student / module
            folder.mkdir(parents=True)
            (folder / name).write_text(
                nbformat.writes(source_notebook()) if step == "autograded" else "<html/>"
            )
        log = "[AutogradeApp | WARNING] course-grader mended demo: restored deleted cell setup\n"
        return GradingLogs(0, log, 0, "")

    def close(self) -> None:
        pass


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(), root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    (root / "nbgrader_config.py").write_text("")
    make_gradebook(root)
    for student in STUDENTS:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(source_notebook(), folder / f"{NOTEBOOK}.ipynb")
    return root


def test_results_are_merged_one_by_one_and_a_failed_merge_is_that_submissions_error(course: Path) -> None:
    saved: dict[str, list[str]] = {}

    def after_each_merge(outcome: Outcome) -> None:
        state = json.loads((course / "autograded" / ".course-grading.json").read_text())
        saved[outcome.student] = sorted(state)

    FakeNbgrader.seen = {}
    scratch = course.parent / "scratch"
    scratch.mkdir()
    grader = ClassGrader(
        root=course, modules=(ASSIGNMENT,), jobs=2, progress=False, scratch=scratch, runner=FakeNbgrader
    )
    outcomes = {o.student: o for o in grader.run(notify=after_each_merge)}

    assert {s: o.status for s, o in outcomes.items()} == {
        "ann": "graded",
        "bob": "error",
        "cat": "graded",
        "dan": "timed out",
        "eve": "rejected",
    }
    assert outcomes["ann"].score == outcomes["ann"].max_score == 5
    assert outcomes["ann"].reasons == ["demo: restored deleted cell setup"]
    assert "its grades could not be recorded" in outcomes["bob"].reasons[-1]
    assert outcomes["dan"].score == 0
    assert outcomes["eve"].reasons == ["the grading worker exited: boom"]
    # Every job copied the snapshot taken before the first started: no job saw another's grades.
    assert all(known == set() for known in FakeNbgrader.seen.values()), FakeNbgrader.seen
    # The record was on disk after each merge; a failed merge is not recorded (graded again next run).
    for student, keys in saved.items():
        assert (f"{student}/{ASSIGNMENT}" in keys) == (student != "bob"), (student, keys)
    assert (course / "autograded" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()
    assert (course / "feedback" / "cat" / ASSIGNMENT / f"{NOTEBOOK}.html").exists()
    assert not (course / "feedback" / "bob").exists()
    report = (course / "grades" / "report.csv").read_text()
    assert "bob,01_demo,error," in report
    assert list(scratch.iterdir()) == [], "sandboxes and the snapshot are removed"

    again = {o.student: o.status for o in grader.run()}
    assert again == {
        "ann": "unchanged",
        "bob": "error",
        "cat": "unchanged",
        "dan": "unchanged",
        "eve": "unchanged",
    }


def test_a_snapshot_is_a_consistent_copy(tmp_path: Path) -> None:
    db = make_gradebook(tmp_path)
    copy = snapshot(db, tmp_path / "copy.db")
    with Gradebook(f"sqlite:///{copy}") as gradebook:
        assert gradebook.find_assignment(ASSIGNMENT).notebooks[0].name == NOTEBOOK
