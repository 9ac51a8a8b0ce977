"""The course's one gradebook: registering modules, the snapshot jobs copy, and merging grades back.

Parallel jobs never open ``gradebook.db``: before any job starts, :func:`snapshot` copies it (with
SQLite's backup API, so the copy is consistent) and each job grades against its own copy of that
snapshot. Only the orchestrating thread writes ``gradebook.db``, one submission at a time.
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from course.grader.processes import run_nbgrader

REGISTER_SECONDS = 300


@dataclass
class Scores:
    """A submission's total, its maximum, and the score of each graded cell."""

    score: float
    max_score: float
    cells: dict[str, float] = field(default_factory=dict)


def db_url(db: Path) -> str:
    return f"sqlite:///{db}"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """nbgrader 0.9.6 with SQLAlchemy 2.1 warns on every submission it opens; grades are right."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object of type <Submitted")
        yield


def register_modules(root: Path, modules: Iterable[str], db: Path | None = None) -> None:
    """Put each module in the course's gradebook (or ``db``), as ``generate_assignment`` does, if
    it is not there yet, without touching ``release/``: nbgrader grades only what it knows."""
    from nbgrader.api import Gradebook, MissingEntry

    db = db or root / "gradebook.db"
    for module in modules:
        if db.exists():
            with Gradebook(db_url(db)) as gradebook:
                try:
                    gradebook.find_assignment(module)
                    continue
                except MissingEntry:
                    pass
        with tempfile.TemporaryDirectory(prefix="course-register-") as scratch:
            work = Path(scratch)
            shutil.copy(root / "nbgrader_config.py", work)
            shutil.copytree(root / "source" / module, work / "source" / module)
            result = run_nbgrader(
                ["generate_assignment", module, "--force", f"--CourseDirectory.db_url={db_url(db)}"],
                work,
                time.monotonic() + REGISTER_SECONDS,
            )
            if result.code != 0:
                raise RuntimeError(f"nbgrader generate_assignment {module} failed:\n{result.log[-2000:]}")


def snapshot(db: Path, target: Path) -> Path:
    """A consistent copy of ``db`` at ``target``, for jobs to copy while ``db`` is written."""
    with (
        contextlib.closing(sqlite3.connect(db)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
    return target


@dataclass(frozen=True)
class CellGrade:
    auto_score: float | None
    manual_score: float | None
    extra_credit: float | None
    needs_manual_grade: bool


@dataclass
class NotebookGrades:
    late_submission_penalty: float | None = None
    grades: dict[str, CellGrade] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)


@dataclass
class GradeRecord:
    """One graded submission as plain data: read from a job's gradebook, sent back to the instructor
    (through a queue if need be), applied to the course's gradebook."""

    module: str
    student: str
    timestamp: datetime.datetime | None = None
    notebooks: dict[str, NotebookGrades] = field(default_factory=dict)


def read_grades(db: Path, module: str, student: str) -> GradeRecord:
    """The grades and comments nbgrader recorded for one submission in ``db``."""
    from nbgrader.api import Gradebook

    with quiet(), Gradebook(db_url(db)) as gradebook:
        graded = gradebook.find_submission(module, student)
        record = GradeRecord(module, student, graded.timestamp)
        for notebook in graded.notebooks:
            record.notebooks[notebook.name] = NotebookGrades(
                notebook.late_submission_penalty,
                {
                    grade.name: CellGrade(
                        grade.auto_score,
                        grade.manual_score,
                        grade.extra_credit,
                        bool(grade.needs_manual_grade),
                    )
                    for grade in notebook.grades
                },
                {comment.name: comment.auto_comment for comment in notebook.comments},
            )
        return record


def apply_grades(main_db: Path, record: GradeRecord) -> Scores:
    """Write one submission's grades and comments into the course's gradebook (again: same result)."""
    from nbgrader.api import Gradebook

    module, student = record.module, record.student
    with quiet(), Gradebook(db_url(main_db)) as target:
        target.update_or_create_student(student)
        merged = target.update_or_create_submission(module, student, timestamp=record.timestamp)
        cells: dict[str, float] = {}
        for name, notebook in record.notebooks.items():
            into_notebook = target.find_submission_notebook(name, module, student)
            into_notebook.late_submission_penalty = notebook.late_submission_penalty
            for grade_name, grade in notebook.grades.items():
                into = target.find_grade(grade_name, name, module, student)
                into.auto_score = grade.auto_score
                into.manual_score = grade.manual_score
                into.extra_credit = grade.extra_credit
                into.needs_manual_grade = grade.needs_manual_grade
            for comment_name, text in notebook.comments.items():
                target.find_comment(comment_name, name, module, student).auto_comment = text
        target.db.commit()
        for notebook in merged.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = float(grade.score)
        return Scores(float(merged.score), float(merged.max_score), cells)


def merge_grades(main_db: Path, sandbox_db: Path, module: str, student: str) -> Scores:
    """Copy one submission's grades and comments from a job's gradebook into the course's."""
    return apply_grades(main_db, read_grades(sandbox_db, module, student))


def zero_grades(main_db: Path, module: str, student: str) -> Scores:
    """Record a submission that could not be graded as zero on every graded cell."""
    from nbgrader.api import Gradebook

    with quiet(), Gradebook(db_url(main_db)) as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(module, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
                cells[grade.name] = 0.0
        gradebook.db.commit()
        return Scores(0.0, float(submission.max_score), cells)
