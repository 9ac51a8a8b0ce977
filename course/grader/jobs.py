"""One submission as a job that can travel: its bytes in, the graded notebook, scores and reasons out.

The local process pool and the RQ queue grade the same :class:`GradingJob` and give back the same
:class:`JobResult`; only the instructor's process writes what a result holds into the course
(:mod:`course.grader.classgrader`). A job names the module's ``source/`` by its digest, so a
worker whose course differs from the instructor's refuses to grade it instead of grading against
other tests.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from course.grader.gradebook import GradeRecord
from course.grader.submissions import Submission

#: Statuses a grading gives a submission (see :class:`course.grader.classgrader.Outcome`).
STATUSES = ("graded", "rejected", "timed out", "error")


def folder_digest(folder: Path) -> str:
    """A fingerprint of the files directly in ``folder`` (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def read_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by its relative POSIX path."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative POSIX paths) under ``folder``; paths that would escape are skipped."""
    for name, data in files.items():
        parts = PurePosixPath(name).parts
        if (
            not parts
            or any(part in ("", ".", "..") or "\\" in part for part in parts)
            or name.startswith("/")
        ):
            continue
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@dataclass(frozen=True)
class GradingJob:
    """Everything a worker needs to grade one submission, besides an installed course."""

    module: str
    student: str
    files: dict[str, bytes]  # the submission folder, as submitted
    source_digest: str  # folder_digest of the instructor's source/<module>
    timeout: float  # the course's own wall-clock limit for autograde + feedback
    duedate: datetime.datetime | None = None  # the module's due date in the instructor's gradebook

    @classmethod
    def of(
        cls, root: Path, submission: Submission, timeout: float, duedate: datetime.datetime | None = None
    ) -> GradingJob:
        return cls(
            submission.module,
            submission.student,
            read_files(submission.folder),
            folder_digest(root / "source" / submission.module),
            timeout,
            duedate,
        )

    @property
    def key(self) -> str:
        return f"{self.student}/{self.module}"

    def notebooks(self) -> list[str]:
        return sorted(name for name in self.files if "/" not in name and name.endswith(".ipynb"))


@dataclass
class JobResult:
    """What grading one submission gave: a status, the reasons, and what to write into the course."""

    status: str  # one of STATUSES
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0
    grades: GradeRecord | None = None  # None: record zero on every graded cell
    autograded: dict[str, bytes] = field(default_factory=dict)  # autograded/<student>/<module>/...
    feedback: dict[str, bytes] = field(default_factory=dict)  # feedback/<student>/<module>/...
