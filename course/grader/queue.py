"""Grading beyond one machine: one RQ job per submission, results merged as they arrive.

``python -m course grade --queue redis://HOST:PORT`` enqueues a :class:`~course.grader.jobs.GradingJob`
per submission on an RQ queue and yields each :class:`~course.grader.jobs.JobResult` as workers
(``python -m course grade-worker``, :mod:`course.grader.rqworker`) finish them; the class grader
merges them into the one gradebook exactly as it merges local results.

RQ's own model does the bookkeeping: ``Retry`` re-enqueues a job whose attempt failed (a work horse
killed, a worker gone whose heartbeat expired: ``StartedJobRegistry.cleanup()``, which this side
also runs), ``result_ttl`` keeps results until they are read, and the success and failure
callbacks wake this side up and note why an attempt failed. This side never trusts the queue
with a grade: it keeps every job it enqueued until it has recorded that job's result once, so a
job whose data vanished (a queue server restarted without persistence) is enqueued again, and a
second result for the same submission (a retried attempt that also finished) is ignored.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry as RedisRetry

from course.grader.jobs import GradingJob, JobResult

QUEUE_NAME = "course-grading"
#: Results wait this long for the instructor's process (RQ's default, 500 s, is too short).
RESULT_TTL = 7 * 24 * 3600
#: RQ's hard limit per job, on top of the course's own limit, which should always fire first.
HARD_LIMIT_MARGIN = 120
PASSWORD_VARIABLE = "COURSE_QUEUE_PASSWORD"  # noqa: S105 - the name of a variable, not a password
#: How often this side looks at the jobs it is waiting for when no callback woke it up.
POLL_SECONDS = 1.0


def connect(url: str) -> redis.Redis:
    """A client for the queue's server that rides out a restart (retries with backoff).

    ``rediss://`` URLs use TLS (``?ssl_ca_certs=...&ssl_certfile=...&ssl_keyfile=...``); a password
    may come from :data:`PASSWORD_VARIABLE` instead of the URL, which ``ps`` would show.
    """
    options: dict[str, Any] = {
        "retry": RedisRetry(ExponentialBackoff(cap=2.0, base=0.05), 30),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "health_check_interval": 15,
    }
    password = os.environ.get(PASSWORD_VARIABLE)
    if password and redis.connection.parse_url(url).get("password") is None:
        options["password"] = password
    return redis.Redis.from_url(url, **options)


def done_key(run: str) -> str:
    return f"course-grading:{run}:done"


# -- callbacks: they run in a work horse, a worker, or whoever cleans RQ's registries -------------


def announce(job: Any, connection: redis.Redis, result: Any, *args: Any, **kwargs: Any) -> None:
    """Success callback: wake the instructor's process up."""
    run = job.meta.get("run")
    if run:
        key = done_key(run)
        connection.rpush(key, job.id)
        connection.expire(key, RESULT_TTL)


def attempt_reason(kind: type[BaseException] | None, value: BaseException | None) -> str:
    name = kind.__name__ if kind else "error"
    if name == "AbandonedJobError":
        return "the worker grading it stopped (its heartbeat expired)"
    if name == "JobTimeoutException":
        return "RQ's hard time limit stopped it"
    return f"{name}: {value}" if value is not None and str(value) else name


def note_attempt(job: Any, connection: redis.Redis, reason: str) -> None:
    """Record why one attempt failed (RQ retries the job if it has retries left)."""
    with contextlib.suppress(Exception):
        job.meta.setdefault("attempts", []).append(reason)
        job.save_meta()
    announce(job, connection, None)


def attempt_failed(job: Any, connection: redis.Redis, kind: Any, value: Any, traceback: Any) -> None:
    """Failure callback."""
    note_attempt(job, connection, attempt_reason(kind, value))


# -- the instructor's side -------------------------------------------------------------------------


def failure_result(job: Any, seconds: float) -> JobResult:
    """A job RQ gave up on (its retries used up): why, from RQ's own record."""
    attempts: list[str] = list(job.meta.get("attempts", []))
    latest = job.latest_result()
    text = (latest.exc_string or "") if latest is not None else ""
    status = "timed out" if "JobTimeoutException" in text else "error"
    last = text.strip().splitlines()[-1] if text.strip() else "no error recorded"
    if "AbandonedJobError" in text:
        last = "the worker grading it stopped (its heartbeat expired)"
    reasons = [f"not graded after {len(attempts) or 1} attempt(s) on the queue: {last}"]
    if attempts:
        reasons.append("attempts: " + "; ".join(attempts))
    return JobResult(status, reasons, seconds=seconds)


@dataclass
class _Waiting:
    key: str
    job: Callable[[], GradingJob]  # made again if its data must be enqueued again
    enqueued: float


@dataclass
class QueuedGrading:
    """Enqueue jobs on ``url`` and yield their results, each exactly once."""

    url: str
    queue_name: str = QUEUE_NAME
    retries: int = 2
    poll_seconds: float = POLL_SECONDS

    def grade(self, jobs: Sequence[tuple[str, Callable[[], GradingJob]]]) -> Iterator[tuple[str, JobResult]]:
        """``jobs`` are (key, what makes the job); yields (key, result) as they finish, in any order."""
        from rq import Queue
        from rq.registry import StartedJobRegistry
        from rq.timeouts import TimerDeathPenalty, UnixSignalDeathPenalty

        connection = connect(self.url)
        queue = Queue(self.queue_name, connection=connection)
        run = uuid.uuid4().hex[:12]
        waiting: dict[str, _Waiting] = {}
        for index, (key, job) in enumerate(jobs):
            job_id = f"course-{run}-{index:06d}"
            waiting[job_id] = _Waiting(key, job, time.monotonic())
            self._enqueue(queue, job_id, job(), run)
        # Cleaning runs the failure callback under a death penalty: RQ's default one needs SIGALRM,
        # which only the main thread may set; a thread-based one works wherever this runs.
        penalty = (
            UnixSignalDeathPenalty
            if threading.current_thread() is threading.main_thread()
            else TimerDeathPenalty
        )
        started = StartedJobRegistry(queue=queue, death_penalty_class=penalty)
        try:
            while waiting:
                self._wait(connection, run)
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    started.cleanup()  # RQ's own: abandoned jobs are retried or failed
                for job_id, result in self._finished(queue, run, waiting):
                    yield waiting.pop(job_id).key, result
        finally:
            with contextlib.suppress(Exception):  # a run stopped early leaves no work behind
                self._forget(queue, list(waiting), run)

    def _enqueue(self, queue: Any, job_id: str, job: GradingJob, run: str) -> None:
        from rq import Callback, Retry

        queue.enqueue(
            "course.grader.rqworker.perform",
            job,
            job_id=job_id,
            description=f"grade {job.key}",
            job_timeout=int(job.timeout) + HARD_LIMIT_MARGIN,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            ttl=RESULT_TTL,
            retry=Retry(max=self.retries) if self.retries > 0 else None,
            on_success=Callback(announce),
            on_failure=Callback(attempt_failed),
            meta={"run": run, "key": job.key},
        )

    def _wait(self, connection: redis.Redis, run: str) -> None:
        """Until a callback says a job ended, or the poll interval passed."""
        try:
            connection.blpop([done_key(run)], timeout=self.poll_seconds)
            while connection.lpop(done_key(run)):
                pass
        except (redis.ConnectionError, redis.TimeoutError):
            time.sleep(self.poll_seconds)  # the server is away (restarting): look again later

    def _finished(self, queue: Any, run: str, waiting: dict[str, _Waiting]) -> list[tuple[str, JobResult]]:
        from rq.job import Job, JobStatus

        ids = list(waiting)
        try:
            with queue.connection.pipeline(transaction=False) as pipeline:
                for job_id in ids:
                    pipeline.hget(Job.key_for(job_id), "status")
                statuses = pipeline.execute()
        except (redis.ConnectionError, redis.TimeoutError):
            return []
        finished = []
        for job_id, raw in zip(ids, statuses, strict=True):
            status = raw.decode() if isinstance(raw, bytes) else raw
            seconds = time.monotonic() - waiting[job_id].enqueued
            if raw is None:  # its data is gone (a server restarted without it): enqueue it again
                self._enqueue(queue, job_id, waiting[job_id].job(), run)
                continue
            if status not in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                continue
            try:
                job = Job.fetch(job_id, connection=queue.connection)
                if status == JobStatus.FINISHED:
                    result = job.return_value()
                    if not isinstance(result, JobResult):  # its result is gone: grade it again
                        self._enqueue(queue, job_id, waiting[job_id].job(), run)
                        continue
                    attempts = list(job.meta.get("attempts", []))
                    if attempts:
                        result.reasons.append(
                            f"graded after {len(attempts)} failed attempt(s): {'; '.join(attempts)}"
                        )
                else:
                    result = failure_result(job, seconds)
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            # Read: free the queue's memory now rather than in RESULT_TTL. RQ 3.0 raises here for a
            # job whose abandoned attempt left a dangling execution; it then expires by itself.
            with contextlib.suppress(Exception):
                job.delete()
            finished.append((job_id, result))
        return finished

    def _forget(self, queue: Any, job_ids: list[str], run: str) -> None:
        from rq.job import Job

        for job in Job.fetch_many(job_ids, connection=queue.connection):
            if job is not None:
                job.cancel()
                job.delete()
        queue.connection.delete(done_key(run))


def duedate_of(gradebook_db: Any, module: str) -> datetime.datetime | None:
    """The module's due date in the instructor's gradebook (None if none is set)."""
    from nbgrader.api import Gradebook, MissingEntry

    from course.grader.gradebook import db_url

    with Gradebook(db_url(gradebook_db)) as gradebook:
        try:
            duedate: datetime.datetime | None = gradebook.find_assignment(module).duedate
        except MissingEntry:
            return None
        return duedate
