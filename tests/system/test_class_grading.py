"""The hostile class of 21 submissions (tests/system/hostile_class.py), graded both ways.

One copy of the course is graded as an instructor would without the course's tools: plain
``nbgrader autograde`` then ``nbgrader generate_feedback``. Another copy is graded by
``python -m course grade`` (`ClassGrader`: parallel jobs, long-lived workers, merged gradebook).
Both use the same ``nbgrader_config.py``, so every student must get the same score both ways, and
the score the source notebook's ``points`` say. Real nbgrader, real kernels, real Redis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import math
import shutil
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbconvert import HTMLExporter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from course.grader.classgrader import ClassGrader, Outcome
from course.grader.processes import CommandResult, run_nbgrader
from course.settings import COURSE_ROOT
from tests.hidden_tests import leaked, secret_lines
from tests.ports import private_block
from tests.system.hostile_class import (
    HISTORY_HINT,
    MAX_SCORE,
    MODULE,
    NOTEBOOK,
    POINTS,
    SOURCE,
    Student,
    hostile_class,
    prepend,
    unchanged,
    write_submission,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PORT_BLOCK = private_block(60)  # the sandbox servers of this file use only these
SQUATTED = PORT_BLOCK[:40]  # the port squatters bind these; servers get the 20 left
PORTS = f"{PORT_BLOCK.start}-{PORT_BLOCK.stop - 1}"
CLASS = hostile_class(SQUATTED)
#: The cell timeout of this file's course copies: this many times the slowest cell of a correct
#: submission measured in the same run (at least FLOOR s). The course's 60 s would make the two
#: students who loop forever cost minutes on each path; the correct ones need a few seconds.
CELL_TIMEOUT_FACTOR, CELL_TIMEOUT_FLOOR = 8, 20
#: The time-limit test allows this many times the slowest correct submission's grading in the class
#: run (at least FLOOR s): its correct submission is graded by a fresh worker under the same limit,
#: so a busier machine must not push it past (only the sleeper's wait grows with the limit).
SUBMISSION_LIMIT_FACTOR, SUBMISSION_LIMIT_FLOOR = 4, 30


@dataclass
class GradedClass:
    plain: Path  # graded with plain nbgrader commands
    graded: Path  # graded with `python -m course grade`
    plain_scores: dict[str, float]
    outcomes: dict[str, Outcome]
    cell_timeout: int


def make_course(root: Path) -> Path:
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / MODULE, root / name / MODULE)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    return root


def set_cell_timeout(root: Path, seconds: int | None) -> None:
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\n# This test's copy of the course (see its module).\nc.Execute.timeout = {seconds}\n")


def nbgrader(root: Path, *args: str) -> CommandResult:
    result = run_nbgrader(args, root, time.monotonic() + 800)
    assert result.code is not None, f"nbgrader {' '.join(args)} hung"
    return result


def slowest_cell_seconds(notebook: Path) -> float:
    """The longest cell of a graded notebook, from the timing nbclient records in each cell."""
    slowest = 0.0
    for cell in nbformat.read(notebook, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "shell.execute_reply" in timing and "iopub.execute_input" in timing:
            start, end = (
                datetime.datetime.fromisoformat(timing[k])
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            slowest = max(slowest, (end - start).total_seconds())
    assert slowest > 0, f"no cell timing recorded in {notebook}"
    return slowest


def plain_score(root: Path, student: str) -> float:
    """A student's total in a gradebook; a submission nbgrader skipped or never graded counts 0."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        try:
            return float(gradebook.find_submission(MODULE, student).score)
        except MissingEntry:
            return 0.0


def grade_plainly(root: Path, log: list[CommandResult]) -> None:
    """Every remaining submission with `nbgrader autograde`, then feedback for all."""
    started = time.monotonic()
    log.append(nbgrader(root, "autograde", MODULE))
    log.append(nbgrader(root, "generate_feedback", MODULE))
    print(f"plain nbgrader: {time.monotonic() - started:.0f} s for autograde + feedback")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    plain = make_course(tmp_path_factory.mktemp("plain"))
    graded = make_course(tmp_path_factory.mktemp("graded"))
    for root in (plain, graded):
        for student, spec in CLASS.items():
            write_submission(root, student, spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)  # kernels and workers inherit it
        assert nbgrader(plain, "generate_assignment", MODULE, "--force").code == 0
        # A correct submission first, under the course's own cell timeout, to measure its cells.
        first = nbgrader(plain, "autograde", MODULE, "--student", "correct-1")
        assert first.code == 0, first.log[-3000:]
        slowest = slowest_cell_seconds(plain / "autograded" / "correct-1" / MODULE / NOTEBOOK)
        cell_timeout = max(CELL_TIMEOUT_FLOOR, math.ceil(CELL_TIMEOUT_FACTOR * slowest))
        for root in (plain, graded):
            set_cell_timeout(root, cell_timeout)
        # Both ways at once (the plain way is one process at a time; the grader runs 2 jobs).
        plain_log: list[CommandResult] = []
        plain_way = threading.Thread(target=grade_plainly, args=(plain, plain_log), daemon=True)
        plain_way.start()
        scratch = graded / "scratch"
        scratch.mkdir()
        grader = ClassGrader(
            root=graded, modules=(MODULE,), jobs=2, timeout=600, progress=False, scratch=scratch
        )
        started = time.monotonic()
        outcomes = {o.student: o for o in grader.run()}
        print(f"course grade: {time.monotonic() - started:.0f} s (cell timeout {cell_timeout} s)")
        plain_way.join()
        assert list(scratch.iterdir()) == [], "per-submission sandboxes were left behind"
    assert len(plain_log) == 2, "the plain nbgrader run failed: see the error above"
    return GradedClass(plain, graded, {s: plain_score(plain, s) for s in CLASS}, outcomes, cell_timeout)


@pytest.mark.parametrize("student", list(CLASS))
def test_both_ways_give_the_score_the_points_say(graded_class: GradedClass, student: str) -> None:
    """A rejected or missing submission counts as 0 on both sides (nbgrader records no grade)."""
    expected = CLASS[student].score
    outcome = graded_class.outcomes[student]
    assert graded_class.plain_scores[student] == expected, f"plain nbgrader: {student}"
    assert outcome.score == expected, outcome
    assert outcome.max_score == MAX_SCORE


def test_every_score_is_the_same_both_ways(graded_class: GradedClass) -> None:
    grader_scores = {s: o.score for s, o in graded_class.outcomes.items()}
    assert grader_scores == graded_class.plain_scores


@pytest.mark.parametrize("student", list(CLASS))
def test_the_grader_reports_the_expected_status_and_reason(graded_class: GradedClass, student: str) -> None:
    spec, outcome = CLASS[student], graded_class.outcomes[student]
    assert outcome.status == spec.status, outcome
    if spec.reason:
        assert any(spec.reason in reason for reason in outcome.reasons), outcome.reasons
    else:
        assert outcome.reasons == [], outcome.reasons


def feedback_pages(root: Path) -> dict[str, str]:
    """The class's feedback pages, by student."""
    pages = {p.parts[-3]: p for p in (root / "feedback").glob(f"*/{MODULE}/*.html")}
    return {student: path.read_text() for student, path in pages.items() if student in CLASS}


def submitted_notebook(root: Path, student: str) -> nbformat.NotebookNode:
    path = next((root / "submitted" / student / MODULE).glob("*.ipynb"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate-cell-ids: nbformat renames them, as intended
        return nbformat.read(path, as_version=4)


def test_no_feedback_page_shows_a_hidden_test_on_either_way(graded_class: GradedClass) -> None:
    secrets = secret_lines(SOURCE)
    assert len(secrets) > 50
    # The search finds every secret line in a graded notebook rendered as HTML (it can fail) ...
    autograded = nbformat.read(graded_class.graded / "autograded" / "partly-wrong" / MODULE / NOTEBOOK, 4)
    assert leaked(HTMLExporter().from_notebook_node(autograded)[0], secrets) == secrets
    # ... and none in any feedback page, wrong submissions included.
    graded = {s for s, spec in CLASS.items() if spec.status == "graded"}
    for root in (graded_class.plain, graded_class.graded):
        pages = feedback_pages(root)
        assert set(pages) == graded, f"{root.name}: feedback missing for {graded - set(pages)}"
        for student, html in pages.items():
            # A line the student wrote themselves (a hostile cell's `pass`) may appear.
            theirs = secret_lines(SOURCE, submitted_notebook(root, student))
            assert leaked(html, theirs) == [], f"{root.name}: {student}'s feedback shows hidden tests"
        assert HISTORY_HINT in pages["partly-wrong"], "a failed hidden check shows its hint"
        assert f"Score: {CLASS['partly-wrong'].score} / {MAX_SCORE}" in pages["partly-wrong"]


def test_the_formgrader_grades_and_writes_feedback_the_same_way(graded_class: GradedClass) -> None:
    """What the Formgrader's Autograde and Generate Feedback buttons call (nbgrader's API, in the
    server's process, configured from nbgrader_config.py): a misnamed copy of partly-wrong."""
    root = graded_class.plain
    write_submission(
        root, "formgrader", dataclasses.replace(CLASS["partly-wrong"], file_name="pubsub (1).ipynb")
    )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        graded = api.autograde(MODULE, "formgrader")
        assert graded["success"], graded.get("error")
        assert "graded pubsub (1).ipynb as pubsub.ipynb" in graded["log"]
        feedback = api.generate_feedback(MODULE, "formgrader")
        assert feedback["success"], feedback.get("error")
    assert plain_score(root, "formgrader") == CLASS["partly-wrong"].score
    html = (root / "feedback" / "formgrader" / MODULE / "pubsub.html").read_text()
    assert leaked(html, secret_lines(SOURCE, submitted_notebook(root, "formgrader"))) == []
    assert HISTORY_HINT in html


def test_reports(graded_class: GradedClass) -> None:
    root = graded_class.graded
    grades = (root / "grades" / "grades.csv").read_text().splitlines()
    assert grades[0] == "student,module,score,max_score"
    assert len(grades) == 1 + len(CLASS)
    assert f"correct-1,{MODULE},{MAX_SCORE},{MAX_SCORE}" in grades
    exercises = (root / "grades" / "exercises.csv").read_text().splitlines()
    assert exercises[0] == "student,module,notebook,exercise,score,max_score"
    assert len(exercises) == 1 + len(CLASS) * len(POINTS)
    assert {line.split(",")[2] for line in exercises[1:]} == {NOTEBOOK.removesuffix(".ipynb")}
    report = (root / "grades" / "report.csv").read_text()
    assert f"not-json,{MODULE},rejected,0.0,{MAX_SCORE}" in report
    assert (root / "grades" / "distribution.png").read_bytes()[:4] == b"\x89PNG"


def test_huge_output_is_cut_in_the_stored_notebook(graded_class: GradedClass) -> None:
    for root in (graded_class.plain, graded_class.graded):
        assert (root / "autograded" / "floods-output" / MODULE / NOTEBOOK).stat().st_size < 1_000_000


GRADING_PROGRAMS = ("ipykernel", "course.grader.worker", "nbgrader", "redis-server")


def grading_processes() -> list[str]:
    """Kernels, workers, nbgrader and Redis processes started by this test process, still alive."""
    found = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # gone, or a zombie, meanwhile
            command = " ".join(process.cmdline()) or process.name()
            if any(program in command for program in GRADING_PROGRAMS) and process.status() != "zombie":
                found.append(f"{process.pid}: {command}")
    return found


def test_nothing_is_left_running(graded_class: GradedClass) -> None:
    assert grading_processes() == []


def test_a_second_run_grades_only_what_changed(graded_class: GradedClass) -> None:
    root = graded_class.graded
    nbformat.write(SOURCE, root / "submitted" / "late-fix" / MODULE / NOTEBOOK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        outcomes = {
            o.student: o for o in ClassGrader(root=root, modules=(MODULE,), jobs=2, progress=False).run()
        }
    assert outcomes["late-fix"].status == "graded"
    assert outcomes["late-fix"].score == MAX_SCORE
    assert {o.status for s, o in outcomes.items() if s != "late-fix"} == {"unchanged"}
    assert (
        f"late-fix,{MODULE},{MAX_SCORE},{MAX_SCORE}"
        in (root / "grades" / "grades.csv").read_text().splitlines()
    )


def test_a_submission_past_the_time_limit_is_stopped_and_the_next_one_still_graded(
    graded_class: GradedClass, tmp_path: Path
) -> None:
    correct = [o.seconds for s, o in graded_class.outcomes.items() if s.startswith("correct")]
    limit = max(SUBMISSION_LIMIT_FLOOR, math.ceil(SUBMISSION_LIMIT_FACTOR * max(correct)))
    print(f"time limit {limit} s (slowest correct submission in the class run: {max(correct):.1f} s)")
    root = make_course(tmp_path / "course")
    set_cell_timeout(root, None)  # no cell timeout: the sleeper below hangs until the limit
    write_submission(
        root,
        "a-sleeper",
        Student(prepend("part-a-solution", "import time\nwhile True:\n    time.sleep(1)"), ()),
    )
    write_submission(root, "b-correct", Student(unchanged, ()))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        grader = ClassGrader(
            root=root, modules=(MODULE,), jobs=1, timeout=limit, progress=False, scratch=scratch
        )
        outcomes = {o.student: o for o in grader.run()}
    assert outcomes["a-sleeper"].status == "timed out"
    assert outcomes["a-sleeper"].reasons == [f"grading took longer than {limit:g} s and was stopped"]
    assert outcomes["a-sleeper"].score == 0
    assert outcomes["b-correct"].status == "graded", outcomes["b-correct"]
    assert outcomes["b-correct"].score == MAX_SCORE, "a fresh worker grades the next submission"
    assert list(scratch.iterdir()) == []
    assert grading_processes() == [], "grading workers must not outlive the run"
