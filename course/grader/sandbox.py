"""One submission, graded in a private copy of the course under a wall-clock limit.

The copy holds ``nbgrader_config.py``, the module's ``source/``, a copy of the gradebook snapshot
and the submission as it was submitted: nbgrader itself (with the course's preprocessors) does
all the mending, exactly as ``nbgrader autograde`` in the course would. Its kernel and Redis
servers are its own; past the limit the whole process tree is killed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import nbformat

from course.grader.markers import mended_steps
from course.grader.processes import run_nbgrader
from course.grader.reasons import cell_notes, failure_reason
from course.grader.submissions import Submission


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


@dataclass
class SandboxResult:
    status: str  # graded | rejected | timed out (see Outcome)
    reasons: list[str] = field(default_factory=list)
    work: Path | None = None  # the private course folder, kept until merged when graded
    seconds: float = 0.0


def make_sandbox(root: Path, submission: Submission, gradebook: Path, scratch: Path) -> Path:
    """A private course folder for one submission, with a copy of the ``gradebook`` snapshot."""
    work = Path(tempfile.mkdtemp(prefix=f"course-grade-{submission.student}-", dir=scratch))
    shutil.copy(root / "nbgrader_config.py", work)
    shutil.copy(gradebook, work / "gradebook.db")
    shutil.copytree(root / "source" / submission.module, work / "source" / submission.module)
    shutil.copytree(submission.folder, work / "submitted" / submission.student / submission.module)
    return work


def graded_folder(work: Path, submission: Submission, step: str = "autograded") -> Path:
    return work / step / submission.student / submission.module


def grade_submission(
    root: Path, submission: Submission, *, gradebook: Path, runner: Runner, timeout: float, scratch: Path
) -> SandboxResult:
    """Grade one submission in its own sandbox (called on a job's thread)."""
    started = time.monotonic()
    result = SandboxResult("graded")
    expected = sorted(p.name for p in (root / "source" / submission.module).glob("*.ipynb"))
    if not submission.notebooks():
        found = ", ".join(sorted(p.name for p in submission.folder.iterdir())) or "nothing"
        return SandboxResult(
            "rejected", [f"no notebook submitted (expected {', '.join(expected)}; found {found})"]
        )
    work = make_sandbox(root, submission, gradebook, scratch)
    try:
        try:
            logs = runner.grade(work, submission.module, submission.student, started + timeout)
        except RunnerDied as error:
            result = SandboxResult("rejected", [str(error)])
            return result
        if logs is None:
            result = SandboxResult("timed out", [f"grading took longer than {timeout:g} s and was stopped"])
            return result
        result.reasons += mended_steps(logs.log)
        graded = sorted(graded_folder(work, submission).glob("*.ipynb"))
        if logs.code != 0 or not graded:
            result.status = "rejected"
            result.reasons.append(failure_reason(logs.log))
            return result
        for path in graded:
            result.reasons += cell_notes(nbformat.read(path, as_version=4))
        if logs.feedback_code != 0:
            result.reasons.append("feedback could not be written: " + failure_reason(logs.feedback_log))
        result.work = work
        return result
    finally:
        result.seconds = time.monotonic() - started
        if result.work is None:
            shutil.rmtree(work, ignore_errors=True)
