"""One submission, graded in a private copy of the course under a wall-clock limit.

The copy holds ``nbgrader_config.py``, the module's ``source/``, a copy of the gradebook snapshot
and the submission's files as submitted (a :class:`~course.grader.jobs.GradingJob`): nbgrader
itself (with the course's preprocessors) does all the mending, exactly as ``nbgrader autograde``
in the course would. Its kernel and Redis servers are its own; past the limit the runner stops
them. What grading gave (grades, the graded notebook, feedback, reasons) comes back as a
:class:`~course.grader.jobs.JobResult`, so it can be merged here or sent back through a queue.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nbformat

from course.grader.gradebook import read_grades
from course.grader.jobs import GradingJob, JobResult, read_files, write_files
from course.grader.markers import mended_steps
from course.grader.processes import run_nbgrader
from course.grader.reasons import cell_notes, failure_reason


@dataclass(frozen=True)
class GradingLogs:
    """What nbgrader said: autograde's exit code and log, then generate_feedback's (if it ran)."""

    code: int
    log: str
    feedback_code: int | None = None
    feedback_log: str = ""


class RunnerDied(RuntimeError):
    """The process grading a submission ended without an answer; the message says how."""


class Runner(Protocol):
    def grade(self, work: Path, module: str, student: str, deadline: float) -> GradingLogs | None:
        """Autograde and write feedback in ``work``; ``None`` if ``deadline`` (monotonic) passed."""

    def close(self) -> None: ...


class CommandRunner:
    """``python -m nbgrader autograde``, then ``generate_feedback``: two fresh processes each time."""

    def grade(self, work: Path, module: str, student: str, deadline: float) -> GradingLogs | None:
        who = [module, "--student", student, "--force"]
        graded = run_nbgrader(["autograde", *who], work, deadline)
        if graded.code is None:
            return None
        if graded.code != 0:
            return GradingLogs(graded.code, graded.log)
        feedback = run_nbgrader(["generate_feedback", *who], work, deadline)
        if feedback.code is None:
            return None
        return GradingLogs(graded.code, graded.log, feedback.code, feedback.log)

    def close(self) -> None:
        """Nothing outlives a command."""


def make_sandbox(root: Path, job: GradingJob, gradebook: Path, scratch: Path) -> Path:
    """A private course folder for one submission, with a copy of the ``gradebook`` snapshot."""
    work = Path(tempfile.mkdtemp(prefix=f"course-grade-{job.student}-", dir=scratch))
    shutil.copy(root / "nbgrader_config.py", work)
    shutil.copy(gradebook, work / "gradebook.db")
    shutil.copytree(root / "source" / job.module, work / "source" / job.module)
    submitted = work / "submitted" / job.student / job.module
    submitted.mkdir(parents=True)
    write_files(submitted, job.files)
    return work


def graded_folder(work: Path, student: str, module: str, step: str = "autograded") -> Path:
    return work / step / student / module


def grade_job(root: Path, job: GradingJob, *, gradebook: Path, runner: Runner, scratch: Path) -> JobResult:
    """Grade one submission in its own sandbox; everything it gave, read back (on a job's thread,
    or in an RQ work horse). The sandbox is gone when this returns."""
    started = time.monotonic()
    result = JobResult("graded")
    expected = sorted(p.name for p in (root / "source" / job.module).glob("*.ipynb"))
    if not job.notebooks():
        found = ", ".join(sorted(job.files)) or "nothing"
        return JobResult(
            "rejected", [f"no notebook submitted (expected {', '.join(expected)}; found {found})"]
        )
    work = make_sandbox(root, job, gradebook, scratch)
    try:
        try:
            logs = runner.grade(work, job.module, job.student, started + job.timeout)
        except RunnerDied as error:
            result = JobResult("rejected", [str(error)])
            return result
        if logs is None:
            result = JobResult("timed out", [f"grading took longer than {job.timeout:g} s and was stopped"])
            return result
        result.reasons += mended_steps(logs.log)
        autograded = graded_folder(work, job.student, job.module)
        graded = sorted(autograded.glob("*.ipynb"))
        if logs.code != 0 or not graded:
            result.status = "rejected"
            result.reasons.append(failure_reason(logs.log))
            return result
        for path in graded:
            result.reasons += cell_notes(nbformat.read(path, as_version=4))
        if logs.feedback_code != 0:
            result.reasons.append("feedback could not be written: " + failure_reason(logs.feedback_log))
        try:
            result.grades = read_grades(work / "gradebook.db", job.module, job.student)
        except Exception as error:  # nbgrader said it graded, but its gradebook has no such grades
            return JobResult(
                "error",
                [*result.reasons, f"its grades could not be recorded: {type(error).__name__}: {error}"],
            )
        result.autograded = read_files(autograded)
        result.feedback = read_files(graded_folder(work, job.student, job.module, "feedback"))
        return result
    finally:
        result.seconds = time.monotonic() - started
        for path in work.rglob("*"):  # nbgrader leaves autograded files read-only
            with contextlib.suppress(OSError):
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(work, ignore_errors=True)
