"""Grading through RQ on one machine: a sandbox Redis server as the queue, two worker processes.

One run grades a small 01_pubsub class while, on purpose, the worker grading a "gated" submission
is killed with SIGKILL in the middle of it (the submission waits on a file the test creates only
after the kill, so the first attempt cannot finish) and the queue's server is restarted. Every
submission must be graded exactly once with the score its notebook earns; the gated one says it
was graded after a failed attempt. Then: a submission that hangs is stopped at the course's time
limit inside the work horse; a worker whose course differs refuses a job, with a reason.
Real RQ workers, nbgrader, kernels and Redis.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry

from course.grader.classgrader import ClassGrader, Outcome
from course.grader.gradebook import db_url
from course.grader.processes import nbgrader_env
from course.grader.queue import connect
from course.grader.rqworker import _Cache
from course.sandbox.servers import RedisServer
from course.settings import COURSE_ROOT
from tests.ports import private_block
from tests.system.hostile_class import MAX_SCORE, MODULE, NOTEBOOK, Student, prepend, stub, unchanged
from tests.system.hostile_class import write_submission as write_student

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PORT_BLOCK = private_block(40)
PORTS = f"{PORT_BLOCK.start}-{PORT_BLOCK.stop - 1}"
QUEUE = "course-grading-test"
#: Short heartbeats, so a killed worker's job is retried within seconds (only the run's length
#: depends on them: a job retried while its first attempt still runs is still recorded once). The
#: grace outlasts a worker starved of CPU on a busy machine, so no live attempt is called abandoned.
HEARTBEAT, GRACE = 1, 10
WAIT_SECONDS = 600  # for events that must happen; reaching it is a failure, never a verdict


def gated(gate: Path) -> Student:
    """A complete submission whose Part A waits until ``gate`` exists."""
    wait = f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.05)"
    return Student(prepend("part-a-solution", wait), ())


@dataclass
class Workers:
    url: str
    server: RedisServer
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path

    def start(self, name: str) -> None:
        env = {**nbgrader_env(), "REDIS_COURSE_PORTS": PORTS}
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "course",
                "grade-worker",
                self.url,
                "--queue-name",
                QUEUE,
                "--name",
                name,
                "--heartbeat",
                str(HEARTBEAT),
                "--heartbeat-grace",
                str(GRACE),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]


def make_course(root: Path) -> Path:
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / MODULE, root / name / MODULE)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    return root


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    logs = tmp_path_factory.mktemp("worker-logs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        server = RedisServer({"appendonly": "yes"}, name="queue").start()
    running = Workers(server.url, server, {}, logs)
    try:
        for name in ("w1", "w2"):
            running.start(name)
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.close()
        _Cache.sweep()  # the SIGKILLed worker's folder, as the next worker start would


def started_job(url: str, key: str) -> Job:
    """The job grading ``key`` once a worker has started it."""
    queue = Queue(QUEUE, connection=connect(url))
    registry = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for job in Job.fetch_many(registry.get_job_ids(), connection=queue.connection):
            if job is not None and job.meta.get("key") == key and job.worker_name:
                return job
        time.sleep(0.1)
    raise AssertionError(f"no worker started {key}")


def test_a_killed_worker_and_a_restarted_queue_lose_and_double_nothing(
    workers: Workers, tmp_path: Path
) -> None:
    root = make_course(tmp_path / "course")
    gate = tmp_path / "gate"
    students = {
        "ann": Student(unchanged, ()),
        "bob": Student(stub("part-a-solution", "part-b-solution", "part-c-solution"), ()),
        "cat": Student(unchanged, ()),
        "gated": gated(gate),
        "dan": Student(unchanged, ()),
    }
    expected = {"ann": MAX_SCORE, "bob": 0.0, "cat": MAX_SCORE, "gated": MAX_SCORE, "dan": MAX_SCORE}
    for student, spec in students.items():
        write_student(root, student, spec)
    recorded = threading.Event()
    outcomes: list[Outcome] = []

    def notify(outcome: Outcome) -> None:
        outcomes.append(outcome)
        recorded.set()

    returned: list[Outcome] = []

    def grade() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REDIS_COURSE_PORTS", PORTS)
            grader = ClassGrader(
                root=root, modules=(MODULE,), progress=False, queue=workers.url, queue_name=QUEUE
            )
            returned.extend(grader.run(notify=notify))

    grading = threading.Thread(target=grade, daemon=True)
    grading.start()
    # The faults, from this thread (the queue server dies with the thread that starts it).
    job = started_job(workers.url, f"gated/{MODULE}")
    assert recorded.wait(WAIT_SECONDS), "no result was recorded"
    workers.server.restart()  # SIGTERM (the AOF is flushed), then the same port and folder
    victim = workers.processes[job.worker_name]
    victim.send_signal(signal.SIGKILL)  # mid-job: the gated attempt cannot have finished
    victim.wait()
    gate.touch()
    grading.join(WAIT_SECONDS)
    assert not grading.is_alive(), "the run did not end"

    # Nothing lost, nothing twice: one outcome per submission, each graded with its score.
    assert sorted(o.student for o in returned) == sorted(students)
    assert outcomes == returned
    scores = {o.student: o.score for o in returned}
    assert {o.student: o.status for o in returned} == dict.fromkeys(students, "graded"), returned
    assert scores == expected
    by_student = {o.student: o for o in returned}
    # At least the killed attempt failed (a heartbeat late on a starved machine may add one).
    assert any(re.search(r"graded after [12] failed attempt\(s\)", r) for r in by_student["gated"].reasons), (
        by_student["gated"]
    )
    with Gradebook(db_url(root / "gradebook.db")) as gradebook:
        submissions = gradebook.find_assignment(MODULE).submissions
        assert sorted(s.student.id for s in submissions) == sorted(students)
        assert {s.student.id: s.score for s in submissions} == expected
    report = (root / "grades" / "report.csv").read_text().splitlines()
    assert len(report) == 1 + len(students)
    for student in students:
        assert (root / "feedback" / student / MODULE / NOTEBOOK.replace(".ipynb", ".html")).is_file()
        assert (root / "autograded" / student / MODULE / NOTEBOOK).is_file()
    queue = Queue(QUEUE, connection=connect(workers.url))
    assert queue.count == 0, "jobs of a finished run stay queued"


def test_a_submission_past_the_time_limit_is_stopped_in_its_work_horse(
    workers: Workers, tmp_path: Path
) -> None:
    root = make_course(tmp_path / "course")
    write_student(root, "sleeper", Student(prepend("part-a-solution", "import time\ntime.sleep(3600)"), ()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        # The sleeper never ends: no correct work depends on this limit.
        grader = ClassGrader(
            root=root, modules=(MODULE,), timeout=5, progress=False, queue=workers.url, queue_name=QUEUE
        )
        (outcome,) = grader.run()
    assert outcome.status == "timed out", outcome
    assert outcome.reasons == ["grading took longer than 5 s and was stopped"]
    assert outcome.score == 0
    alive = [name for name, process in workers.processes.items() if process.poll() is None]
    assert alive, "no worker survived"
    for name in alive:  # an idle worker keeps nothing running below it: no horse, kernel or server
        deadline = time.monotonic() + WAIT_SECONDS
        while psutil.Process(workers.processes[name].pid).children() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert psutil.Process(workers.processes[name].pid).children() == [], workers.log(name)


def test_a_worker_with_another_course_refuses_the_job_with_a_reason(workers: Workers, tmp_path: Path) -> None:
    root = make_course(tmp_path / "course")
    source = root / "source" / MODULE / NOTEBOOK
    edited = nbformat.read(source, as_version=4)
    edited.cells.append(nbformat.v4.new_markdown_cell("An instructor's edit the workers do not have."))
    nbformat.write(edited, source)
    write_student(root, "eve", Student(unchanged, ()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        grader = ClassGrader(
            root=root, modules=(MODULE,), progress=False, queue=workers.url, queue_name=QUEUE, retries=1
        )
        (outcome,) = grader.run()
    assert outcome.status == "error", outcome
    assert "not graded after 2 attempt(s)" in outcome.reasons[0], outcome.reasons
    assert f"source/{MODULE} differs from the instructor's" in " ".join(outcome.reasons)
    assert outcome.score is None  # an error records nothing: the next run grades it again
    with contextlib.suppress(FileNotFoundError):
        assert "eve" not in (root / "grades" / "grades.csv").read_text()
    assert os.path.exists(root / "grades" / "report.csv")
