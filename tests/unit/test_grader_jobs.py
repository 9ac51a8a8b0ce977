"""Jobs as data, the roster, the queue's reasons and the forked kernels' bookkeeping (no kernel,
no server, no queue)."""

from __future__ import annotations

import datetime
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course.grader.gradebook import apply_grades, db_url, read_grades
from course.grader.jobs import GradingJob, JobResult, folder_digest, read_files, write_files
from course.grader.kernels import ForkedProcess, forkable
from course.grader.queue import attempt_reason, failure_result
from course.grader.roster import read_roster, register_students
from course.grader.submissions import Submission
from tests.unit.grader_notebooks import ASSIGNMENT, make_gradebook


def test_files_round_trip_and_a_path_that_would_escape_is_skipped(tmp_path: Path) -> None:
    write_files(tmp_path / "in", {"a.ipynb": b"{}", "data/b.csv": b"1,2", "../x": b"no", "/etc/y": b"no"})
    assert read_files(tmp_path / "in") == {"a.ipynb": b"{}", "data/b.csv": b"1,2"}
    assert not (tmp_path / "x").exists()
    assert read_files(tmp_path / "missing") == {}


def test_a_job_carries_the_submission_and_the_source_it_is_graded_against(tmp_path: Path) -> None:
    (tmp_path / "source" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "source" / ASSIGNMENT / "demo.ipynb").write_text("{}")
    folder = tmp_path / "submitted" / "ann" / ASSIGNMENT
    write_files(
        folder, {"demo.ipynb": b"{}", "timestamp.txt": b"2026-01-01 00:00:00", "extra/notes.txt": b"n"}
    )
    due = datetime.datetime(2026, 1, 2)
    job = GradingJob.of(tmp_path, Submission("ann", ASSIGNMENT, folder), 60, due)
    assert job.key == f"ann/{ASSIGNMENT}"
    assert job.notebooks() == ["demo.ipynb"]
    assert set(job.files) == {"demo.ipynb", "timestamp.txt", "extra/notes.txt"}
    assert job.source_digest == folder_digest(tmp_path / "source" / ASSIGNMENT)
    (tmp_path / "source" / ASSIGNMENT / "demo.ipynb").write_text('{"changed": 1}')
    assert job.source_digest != folder_digest(tmp_path / "source" / ASSIGNMENT)
    assert pickle.loads(pickle.dumps(job)) == job  # what RQ stores


def graded_gradebook(folder: Path, student: str) -> Path:
    db = make_gradebook(folder)
    with Gradebook(db_url(db)) as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(ASSIGNMENT, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = grade.max_score
        gradebook.db.commit()
    return db


def test_grades_read_from_one_gradebook_apply_to_another_and_again_to_the_same_result(tmp_path: Path) -> None:
    (tmp_path / "job").mkdir()
    (tmp_path / "course").mkdir()
    record = read_grades(graded_gradebook(tmp_path / "job", "ann"), ASSIGNMENT, "ann")
    record = pickle.loads(pickle.dumps(JobResult("graded", grades=record))).grades
    main = make_gradebook(tmp_path / "course")
    first = apply_grades(main, record)
    again = apply_grades(main, record)
    assert first == again
    assert first.score == first.max_score == 5
    with Gradebook(db_url(main)) as gradebook:
        assert [s.student.id for s in gradebook.find_assignment(ASSIGNMENT).submissions] == ["ann"]


def test_the_roster_names_students_and_the_id_names_the_others(tmp_path: Path) -> None:
    (tmp_path / "students.csv").write_text("id,first_name,last_name,email\nann,Ann,Smith,\n  ,No,Id,\n")
    roster = read_roster(tmp_path)
    assert roster == {"ann": {"first_name": "Ann", "last_name": "Smith", "email": None}}
    db = make_gradebook(tmp_path)
    with Gradebook(db_url(db)) as gradebook:
        gradebook.update_or_create_student("cat", first_name="Cat", last_name="Typed")  # in the Formgrader
    register_students(db, ["ann", "bob", "cat"], roster)
    with Gradebook(db_url(db)) as gradebook:
        names = {s.id: (s.last_name, s.first_name) for s in gradebook.students}
    assert names == {"ann": ("Smith", "Ann"), "bob": ("bob", ""), "cat": ("Typed", "Cat")}
    assert read_roster(tmp_path / "nowhere") == {}


def test_why_an_attempt_failed_in_the_instructors_words() -> None:
    class AbandonedJobError(Exception):
        pass

    class JobTimeoutException(Exception):
        pass

    assert (
        attempt_reason(AbandonedJobError, AbandonedJobError())
        == "the worker grading it stopped (its heartbeat expired)"
    )
    assert attempt_reason(JobTimeoutException, JobTimeoutException("x")) == "RQ's hard time limit stopped it"
    assert attempt_reason(ValueError, ValueError("bad")) == "ValueError: bad"


class FakeResult:
    def __init__(self, exc_string: str) -> None:
        self.exc_string = exc_string


class FakeJob:
    def __init__(self, exc_string: str, attempts: list[str]) -> None:
        self.meta = {"attempts": attempts}
        self._result = FakeResult(exc_string)

    def latest_result(self) -> FakeResult:
        return self._result


@pytest.mark.parametrize(
    ("exc_string", "status", "reason"),
    [
        (
            "Traceback...\nrq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (720 s)",
            "timed out",
            "JobTimeoutException",
        ),
        ("Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-01-01", "error", "heartbeat expired"),
        ("Traceback...\nCourseMismatch: this worker's source/01_pubsub differs", "error", "differs"),
    ],
)
def test_a_job_rq_gave_up_on_is_reported_with_its_reason(exc_string: str, status: str, reason: str) -> None:
    result = failure_result(FakeJob(exc_string, ["first", "second"]), 3.0)
    assert result.status == status
    assert result.grades is None
    assert result.reasons[0].startswith("not graded after 2 attempt(s) on the queue: ")
    assert reason in result.reasons[0]
    assert result.reasons[1] == "attempts: first; second"


def test_only_the_stock_ipykernel_command_of_this_interpreter_is_forked() -> None:
    assert forkable([sys.executable, "-m", "ipykernel_launcher", "-f", "conn.json"])
    assert not forkable(["/other/python", "-m", "ipykernel_launcher", "-f", "conn.json"])
    assert not forkable([sys.executable, "-m", "other_kernel", "-f", "conn.json"])


def test_a_forked_kernel_reads_as_running_until_it_has_exited() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    kernel = ForkedProcess(child.pid)
    assert kernel.poll() is None
    kernel.terminate()
    child.wait()  # reaped by its parent, as the zygote reaps its kernels
    assert kernel.poll() == 0
    assert kernel.wait() == 0
    kernel.kill()  # idempotent once gone
    assert ForkedProcess(2**22 + os.getpid()).poll() == 0  # a pid that does not exist


def test_the_autograde_hook_names_the_student_from_the_roster_of_the_course_it_runs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course.grader.hooks import before_grading

    db = make_gradebook(tmp_path)
    (tmp_path / "students.csv").write_text("id,first_name,last_name,email\nann,Ann,Smith,ann@example.org\n")
    folder = tmp_path / "submitted" / "ann" / ASSIGNMENT
    write_files(folder, {"demo.ipynb": b"{}"})
    monkeypatch.chdir(tmp_path)  # nbgrader runs hooks from the course root
    before_grading(assignment="*", student="*", notebooks=[str(folder / "demo.ipynb")])
    with Gradebook(db_url(db)) as gradebook:
        ann = gradebook.find_student("ann")
        assert (ann.first_name, ann.last_name, ann.email) == ("Ann", "Smith", "ann@example.org")
