"""Grade a whole class: every module, every student, in parallel, each submission in its own sandbox.

``python -m course grade`` adds to nbgrader only what it lacks; the grading itself, mending
included, is nbgrader's with the course's preprocessors (``nbgrader_config.py``), so a submission
gets the same score and the same feedback as from ``nbgrader autograde`` + ``generate_feedback`` or
the Formgrader. What this adds:

* finding submissions (``submitted/<student>/<module>/``, or a zip of them):
  :mod:`course.grader.submissions`;
* parallel jobs, each grading in a private copy of the course under a wall-clock limit that kills
  the whole process tree: :mod:`course.grader.sandbox`; each job keeps one long-lived nbgrader
  process that grades submission after submission (:mod:`course.grader.worker`), its kernels
  forked from a warm parent (:mod:`course.grader.kernels`); or, with ``queue``, RQ jobs graded on
  other machines (:mod:`course.grader.queue`): both give back a :class:`~course.grader.jobs.JobResult`;
* one gradebook: jobs copy a snapshot taken before any of them starts, and this thread alone
  merges each result into ``gradebook.db`` (:mod:`course.grader.gradebook`); a failed merge is
  that submission's error, and the record of what was graded is saved after every merge;
* students' names from the roster (:mod:`course.grader.roster`), reports in ``grades/``
  (:mod:`course.grader.reports`) and a progress bar.

Unchanged submissions are not graded again unless asked (``force`` or ``students``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.grader.gradebook import apply_grades, register_modules, snapshot, zero_grades
from course.grader.jobs import GradingJob, JobResult, write_files
from course.grader.reports import write_reports
from course.grader.roster import read_roster, register_students
from course.grader.sandbox import Runner, grade_job, graded_folder
from course.grader.submissions import Submission, find_submissions
from course.grader.worker import GradingWorker
from course.settings import COURSE_ROOT, SUBMISSION_TIMEOUT_SECONDS, modules

STATE_FILE = ".course-grading.json"


@dataclass
class Outcome:
    """What happened to one submission: its status, the reasons, and its score."""

    student: str
    module: str
    status: str = "graded"  # graded | rejected | timed out | error | unchanged
    reasons: list[str] = field(default_factory=list)
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    grades: dict[str, float] = field(default_factory=dict)


def _replace_files(destination: Path, files: dict[str, bytes]) -> None:
    """Replace ``destination`` with ``files`` (nbgrader leaves autograded files read-only)."""
    if destination.exists():
        for path in destination.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    write_files(destination, files)


@dataclass
class ClassGrader:
    root: Path = COURSE_ROOT
    modules: Sequence[str] = ()  # default: every module of the course
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = SUBMISSION_TIMEOUT_SECONDS
    force: bool = False
    students: Sequence[str] = ()
    progress: bool = True
    scratch: Path | None = None  # where per-submission sandboxes go (default: the temp dir)
    #: Makes each job's runner: a long-lived worker, or CommandRunner (two nbgrader commands each time).
    runner: Callable[[], Runner] = GradingWorker
    #: A Redis URL: grade through RQ workers (``python -m course grade-worker``) instead of local jobs.
    queue: str | None = None
    queue_name: str = "course-grading"
    retries: int = 2  # RQ retries of a job whose attempt failed (a worker killed, ...)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _runners: list[Runner] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def grades_dir(self) -> Path:
        return self.root / "grades"

    @property
    def state_file(self) -> Path:
        return self.root / "autograded" / STATE_FILE

    def _state(self) -> dict[str, str]:
        try:
            state: dict[str, str] = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            state = {}
        return state

    def _save_state(self, state: dict[str, str]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=1, sort_keys=True))
        partial.replace(self.state_file)

    def _runner(self) -> Runner:
        """This job thread's runner: a long-lived worker (replaced after a kill) or commands."""
        runner: Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = self._local.runner = self.runner()
            with self._lock:
                self._runners.append(runner)
        return runner

    def _job(self, submission: Submission, gradebook: Path, scratch: Path) -> JobResult:
        job = GradingJob.of(self.root, submission, self.timeout)
        return grade_job(self.root, job, gradebook=gradebook, runner=self._runner(), scratch=scratch)

    def _record(self, submission: Submission, result: JobResult) -> Outcome:
        """Merge one result into the course (gradebook, autograded/, feedback/): this thread only.

        A rejected or timed-out submission scores 0; an error changes nothing (graded next run)."""
        outcome = Outcome(
            submission.student, submission.module, result.status, list(result.reasons), seconds=result.seconds
        )
        if result.status == "error":
            return outcome
        db = self.root / "gradebook.db"
        try:
            if result.grades is None:
                scores = zero_grades(db, submission.module, submission.student)
            else:
                scores = apply_grades(db, result.grades)
                for step, files in (("autograded", result.autograded), ("feedback", result.feedback)):
                    if files:
                        _replace_files(
                            graded_folder(self.root, submission.student, submission.module, step), files
                        )
            outcome.score, outcome.max_score, outcome.grades = scores.score, scores.max_score, scores.cells
        except Exception as error:  # any failure belongs to this submission, not to the whole run
            outcome.status = "error"
            outcome.reasons.append(f"its grades could not be recorded: {type(error).__name__}: {error}")
        return outcome

    def _grade_here(self, todo: list[Submission]) -> Iterator[tuple[Submission, JobResult]]:
        """Results of this machine's jobs, as they finish."""
        with tempfile.TemporaryDirectory(prefix="course-grading-", dir=self.scratch) as folder:
            scratch = Path(folder)
            # Taken before any job starts: jobs never copy a database being written.
            copy = snapshot(self.root / "gradebook.db", scratch / "gradebook-snapshot.db")
            with ThreadPoolExecutor(max_workers=max(1, self.jobs)) as pool:
                futures = {
                    pool.submit(self._job, submission, copy, scratch): submission for submission in todo
                }
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as error:  # a job that broke: this submission's error
                        result = JobResult("error", [f"grading failed: {type(error).__name__}: {error}"])
                    yield futures[future], result

    def _grade_on_queue(self, todo: list[Submission]) -> Iterator[tuple[Submission, JobResult]]:
        """Results of RQ workers' jobs, as they finish (see :mod:`course.grader.queue`)."""
        from course.grader.queue import QueuedGrading, duedate_of

        assert self.queue is not None
        # A worker elsewhere knows the module from its own source/, not this course's due date.
        duedates = {m: duedate_of(self.root / "gradebook.db", m) for m in {s.module for s in todo}}
        by_key = {submission.key: submission for submission in todo}

        def job_of(submission: Submission) -> Callable[[], GradingJob]:
            return lambda: GradingJob.of(self.root, submission, self.timeout, duedates[submission.module])

        grading = QueuedGrading(self.queue, queue_name=self.queue_name, retries=self.retries)
        for key, result in grading.grade([(s.key, job_of(s)) for s in todo]):
            yield by_key[key], result

    def run(self, notify: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        wanted = [m for m in self.modules or modules(self.root) if (self.root / "source" / m).is_dir()]
        submissions = find_submissions(self.root, wanted, self.students)
        register_modules(self.root, sorted({s.module for s in submissions}))
        if submissions:
            register_students(
                self.root / "gradebook.db", [s.student for s in submissions], read_roster(self.root)
            )
        state = self._state()
        outcomes: list[Outcome] = []
        todo: list[tuple[Submission, str]] = []
        for submission in submissions:
            digest = submission.digest(self.root / "source" / submission.module)
            if not self.force and not self.students and state.get(submission.key) == digest:
                outcomes.append(Outcome(submission.student, submission.module, status="unchanged"))
            else:
                todo.append((submission, digest))
        digests = {submission.key: digest for submission, digest in todo}
        bar = _progress(len(todo), self.progress)
        try:
            if todo:
                chosen = [submission for submission, _ in todo]
                results = self._grade_on_queue(chosen) if self.queue else self._grade_here(chosen)
                for submission, result in results:
                    outcome = self._record(submission, result)
                    if outcome.status != "error":
                        state[submission.key] = digests[submission.key]
                    self._save_state(state)  # after every merge: a crash loses nothing recorded
                    outcomes.append(outcome)
                    bar.update(1)
                    if notify:
                        notify(outcome)
        finally:
            for runner in self._runners:
                runner.close()
            self._runners.clear()
            bar.close()
        write_reports(self.root / "gradebook.db", self.grades_dir, outcomes)
        return outcomes


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", disable=not enabled)
