"""``python -m course grade-worker redis://HOST:PORT``: grading jobs on any machine with the course.

An RQ ``Worker`` (its own model: dequeue, heartbeats, a forked work horse per job killed at RQ's
hard time limit, ``Retry``) whose jobs are :func:`perform`. This process imports nbgrader and
what kernels load before its first job, so every work horse, a fresh ``fork()`` of it, starts
grading at once; the horse forks its kernels from itself (:mod:`course.grader.kernels`).

Inside the horse the course's own limit applies too: nbgrader runs on a thread, and past the
job's ``timeout`` the horse kills everything below it and reports "timed out" as a result; RQ's
hard limit (``timeout`` plus a margin) only fires if the horse itself stops answering. A horse
dies with its worker (Linux parent-death signal): a worker killed mid-job leaves no grading
behind, and RQ retries the job once its heartbeat expires.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from course.grader.gradebook import db_url, register_modules
from course.grader.jobs import GradingJob, JobResult, folder_digest
from course.grader.processes import kill_tree
from course.grader.sandbox import GradingLogs, grade_job
from course.settings import COURSE_ROOT

#: Seconds between a busy worker's heartbeats, and how late one may be before RQ's registry
#: cleanup calls the job abandoned (RQ adds 60 s; a long grace only delays the retry).
MONITORING_SECONDS = 10
HEARTBEAT_GRACE_SECONDS = 60


class CourseMismatch(RuntimeError):
    """This worker's course is not the one the instructor grades with."""


class _Cache:
    """A folder for this worker's module gradebooks, made by the worker before its first horse."""

    PREFIX = "course-grade-worker-"
    folder: Path | None = None

    @classmethod
    def path(cls) -> Path:
        if cls.folder is None:
            cls.sweep()
            cls.folder = Path(tempfile.mkdtemp(prefix=f"{cls.PREFIX}{os.getpid()}-"))
        return cls.folder

    @classmethod
    def sweep(cls) -> None:
        """Remove the folders of workers that died without cleaning up (SIGKILL)."""
        import psutil

        for folder in Path(tempfile.gettempdir()).glob(f"{cls.PREFIX}*"):
            pid = folder.name[len(cls.PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)

    @classmethod
    def remove(cls) -> None:
        if cls.folder is not None:
            shutil.rmtree(cls.folder, ignore_errors=True)
            cls.folder = None


def module_gradebook(root: Path, module: str, digest: str) -> Path:
    """A gradebook that knows ``module`` as this worker's ``source/`` defines it (made once)."""
    template = _Cache.path() / f"{module}-{digest[:16]}.db"
    if not template.exists():
        partial = template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        register_modules(root, [module], db=partial)
        partial.replace(template)
    return template


def set_duedate(db: Path, module: str, job: GradingJob) -> None:
    from nbgrader.api import Gradebook

    if job.duedate is not None:
        with Gradebook(db_url(db)) as gradebook:
            gradebook.update_or_create_assignment(module, duedate=job.duedate)


class InProcessRunner:
    """nbgrader in this process (a work horse), on a thread, under the job's deadline."""

    def __init__(self, fork_kernels: bool) -> None:
        self.fork_kernels = fork_kernels

    def grade(self, work: Path, module: str, student: str, deadline: float) -> GradingLogs | None:
        from course.grader.worker import grade

        task = {"work": str(work), "module": module, "student": student, "fork_kernels": self.fork_kernels}
        answer: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: answer.update(grade(task)), daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():  # past the course's limit: stop the kernels and servers below us
            import psutil

            for child in psutil.Process().children():
                kill_tree(child.pid)
            return None
        if not answer:
            raise RuntimeError("nbgrader stopped without an answer")
        return GradingLogs(answer["code"], answer["log"], answer["feedback_code"], answer["feedback_log"])

    def close(self) -> None:
        """Nothing to stop: the horse ends with its job."""


def perform(job: GradingJob, *, fork_kernels: bool = True) -> JobResult:
    """The RQ job: grade one submission with this machine's course (runs in the work horse)."""
    from course.grader.kernels import ZYGOTE

    root = COURSE_ROOT
    source = root / "source" / job.module
    if not source.is_dir() or folder_digest(source) != job.source_digest:
        raise CourseMismatch(
            f"this worker's source/{job.module} differs from the instructor's: "
            f"update the course on {socket.gethostname()} ({root})"
        )
    scratch = Path(tempfile.mkdtemp(prefix="job-", dir=_Cache.path()))  # swept with it if we are killed
    try:
        if fork_kernels:
            ZYGOTE.start()  # the horse is a fresh fork, single-threaded until nbgrader runs
        gradebook = scratch / "gradebook-snapshot.db"
        shutil.copy(module_gradebook(root, job.module, job.source_digest), gradebook)
        set_duedate(gradebook, job.module, job)
        return grade_job(
            root, job, gradebook=gradebook, runner=InProcessRunner(fork_kernels), scratch=scratch
        )
    finally:
        ZYGOTE.close()
        shutil.rmtree(scratch, ignore_errors=True)


def preload() -> None:
    """What every work horse needs, imported once by the worker it is forked from."""
    import nbgrader.apps.nbgraderapp  # noqa: F401

    from course.grader.kernels import preload as kernel_modules

    kernel_modules()


def worker_class() -> type[Any]:
    from rq import Worker

    from course.sandbox.process import die_with_parent

    class GradingWorker(Worker):
        """RQ's forking worker, with horses that die with it and a configurable heartbeat grace."""

        heartbeat_grace = HEARTBEAT_GRACE_SECONDS
        stop_asked = False  # RQ's own flag is set only when a stop comes in the middle of a job

        def request_stop(self, signum: int, frame: Any) -> None:
            self.stop_asked = True
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

        def setup_work_horse_signals(self) -> None:
            super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
            die_with_parent()  # an orphaned horse could not send heartbeats: RQ would retry it anyway

        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            ttl = super().get_heartbeat_ttl(job, working_time)
            return int(ttl - 60 + self.heartbeat_grace)

    return GradingWorker


def horse_killed(job: Any, pid: int, status: int, rusage: Any) -> None:
    """RQ's hook when a work horse dies without finishing (it then retries or fails the job)."""
    from course.grader.queue import note_attempt

    signal_text = f" by signal {os.WTERMSIG(status)}" if status and os.WIFSIGNALED(status) else ""
    note_attempt(job, job.connection, f"its work horse was killed{signal_text}")


def run_worker(
    url: str,
    queue_name: str,
    *,
    burst: bool = False,
    max_jobs: int | None = None,
    monitoring: int = MONITORING_SECONDS,
    grace: int = HEARTBEAT_GRACE_SECONDS,
    name: str | None = None,
) -> int:
    """Work until stopped (SIGTERM / Ctrl-C), or until the queue is empty with ``burst``.

    RQ's worker quits when its server goes away in the middle of a job; this loop starts a new one
    once the server answers again, so a restarted queue server does not end the worker.
    """
    import signal

    import redis

    from course.grader.queue import connect

    preload()
    _Cache.path()  # made here, so every horse finds the gradebooks earlier ones made
    worker_type = worker_class()
    worker_type.heartbeat_grace = grace
    connection = connect(url)
    stop = {"asked": False}

    def between_workers(signum: int, frame: Any) -> None:
        stop["asked"] = True

    try:
        while not stop["asked"]:
            worker = worker_type(
                [queue_name],
                connection=connection,
                name=name,
                job_monitoring_interval=monitoring,
                maintenance_interval=max(monitoring, 30),
                work_horse_killed_handler=horse_killed,
            )
            try:
                worker.work(burst=burst, max_jobs=max_jobs, logging_level="INFO")
            except (redis.ConnectionError, redis.TimeoutError) as error:  # RQ's own teardown, server away
                print(f"grade-worker: the queue's server is unreachable ({error}); trying again", flush=True)
            if burst or max_jobs is not None or worker.stop_asked:
                return 0
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, between_workers)
            time.sleep(1)  # it quit on an error (its server restarting): start a fresh one
        return 0
    finally:
        _Cache.remove()
        with contextlib.suppress(Exception):
            connection.close()
