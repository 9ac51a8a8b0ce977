"""The course's one gradebook: registering modules, the snapshot jobs copy, and merging grades back.

Parallel jobs never open ``gradebook.db``: before any job starts, :func:`snapshot` copies it (with
SQLite's backup API, so the copy is consistent) and each job grades against its own copy of that
snapshot. Only the orchestrating thread writes ``gradebook.db``, one submission at a time.
"""

from __future__ import annotations

import contextlib
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
def _quiet() -> Iterator[None]:
    """nbgrader 0.9.6 with SQLAlchemy 2.1 warns on every submission it opens; grades are right."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object of type <Submitted")
        yield


def register_modules(root: Path, modules: Iterable[str]) -> None:
    """Put each module in the course's gradebook (as ``generate_assignment`` does) if it is not
    there yet, without touching ``release/``: nbgrader grades only what its gradebook knows."""
    from nbgrader.api import Gradebook, MissingEntry

    db = root / "gradebook.db"
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


def merge_grades(main_db: Path, sandbox_db: Path, module: str, student: str) -> Scores:
    """Copy one submission's grades and comments from a job's gradebook into the course's."""
    from nbgrader.api import Gradebook

    with _quiet(), Gradebook(db_url(sandbox_db)) as source, Gradebook(db_url(main_db)) as target:
        graded = source.find_submission(module, student)
        target.update_or_create_student(student)
        merged = target.update_or_create_submission(module, student, timestamp=graded.timestamp)
        cells: dict[str, float] = {}
        for notebook in graded.notebooks:
            into_notebook = target.find_submission_notebook(notebook.name, module, student)
            into_notebook.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                into = target.find_grade(grade.name, notebook.name, module, student)
                into.auto_score = grade.auto_score
                into.manual_score = grade.manual_score
                into.extra_credit = grade.extra_credit
                into.needs_manual_grade = grade.needs_manual_grade
                cells[grade.name] = float(grade.score)
            for comment in notebook.comments:
                into_comment = target.find_comment(comment.name, notebook.name, module, student)
                into_comment.auto_comment = comment.auto_comment
        target.db.commit()
        return Scores(float(merged.score), float(merged.max_score), cells)


def zero_grades(main_db: Path, module: str, student: str) -> Scores:
    """Record a submission that could not be graded as zero on every graded cell."""
    from nbgrader.api import Gradebook

    with _quiet(), Gradebook(db_url(main_db)) as gradebook:
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
