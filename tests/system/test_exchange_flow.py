"""nbgrader's whole exchange flow around ``python -m course grade``, with three students.

As nbgrader's own exchange tests do, several students are faked as one OS user: each has a home
folder and a cache of their own, and names themselves with ``--student``. The instructor releases
01_pubsub; ada (complete), bob (a capped history forgotten) and cyd (blank) fetch it, work and
submit; the instructor collects, grades with the course grader, regenerates the feedback with
plain nbgrader, releases it; each student fetches their own feedback, which shows their score and
never a hidden test. The Formgrader lists each submission under the student's name (from the
course's ``students.csv`` roster, or the id for a student it does not list), never "None, None".
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from course.grader.classgrader import ClassGrader
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
    uncapped_history,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PORT_BLOCK = private_block(20)
COURSE_ID = "redis-advanced"  # nbgrader_config.py's c.CourseDirectory.course_id
ROSTER = "id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\nbob,Bob,Kahn,\n"
EXPECTED = {"ada": MAX_SCORE, "bob": POINTS["part-c-tests"], "cyd": 0.0}


def nbgrader(cwd: Path, *args: str) -> CommandResult:
    result = run_nbgrader(args, cwd, time.monotonic() + 600)
    assert result.code == 0, f"nbgrader {' '.join(args)}:\n{result.log[-3000:]}"
    return result


def as_student(home: Path, exchange: Path, student: str, *args: str) -> CommandResult:
    """A student's nbgrader command: their own folder, cache and id, the course's exchange."""
    options = [
        f"--Exchange.root={exchange}",
        f"--Exchange.cache={home / 'cache'}",
        f"--CourseDirectory.course_id={COURSE_ID}",
        f"--student={student}",
    ]
    return nbgrader(home, *args, *options)


def work(notebook: Path, student: str) -> None:
    """What each student does to the notebook they fetched."""
    fetched = nbformat.read(notebook, as_version=4)
    if student == "cyd":
        return  # hands it in blank
    solutions = {c.id: c.source for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in fetched.cells:
        if cell.get("id") in solutions:
            cell.source = solutions[cell.id]
    if student == "bob":
        uncapped_history(fetched)  # fails a hidden check of Part A (with a hint) ...
        part_b = next(c for c in fetched.cells if c.get("id") == "part-b-solution")
        part_b.source = part_b.source.replace(", px=self.ttl_ms, get=True)", ", get=True)")  # ... and Part B
    nbformat.write(fetched, notebook)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("course")
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / MODULE, root / name / MODULE)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    (root / "students.csv").write_text(ROSTER)
    exchange = root / "exchange"
    homes = {student: tmp_path_factory.mktemp(student) for student in EXPECTED}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", f"{PORT_BLOCK.start}-{PORT_BLOCK.stop - 1}")
        patch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path_factory.mktemp("jupyter-config")))
        nbgrader(root, "generate_assignment", MODULE, "--force")
        nbgrader(root, "release_assignment", MODULE, "--force")
        for student, home in homes.items():
            as_student(home, exchange, student, "fetch_assignment", MODULE)
            work(home / MODULE / NOTEBOOK, student)
            as_student(home, exchange, student, "submit", MODULE)
        nbgrader(root, "collect", MODULE)
        outcomes = ClassGrader(root=root, modules=(MODULE,), jobs=2, progress=False).run()
        assert {o.student: o.score for o in outcomes} == EXPECTED, outcomes
        nbgrader(root, "generate_feedback", MODULE, "--force")  # plain nbgrader again: same steps
        nbgrader(root, "release_feedback", MODULE)
        for student, home in homes.items():
            as_student(home, exchange, student, "fetch_feedback", MODULE)
    return {"course": root, **homes}


def fetched_feedback(home: Path) -> list[Path]:
    return sorted((home / MODULE / "feedback").glob("*/*.html"))


@pytest.mark.parametrize("student", list(EXPECTED))
def test_each_student_fetches_only_their_own_feedback_with_their_score(
    flow: dict[str, Path], student: str
) -> None:
    pages = fetched_feedback(flow[student])
    assert [page.name for page in pages] == [NOTEBOOK.replace(".ipynb", ".html")]
    html = pages[0].read_text()
    assert f"Score: {EXPECTED[student]} / {MAX_SCORE}" in html


@pytest.mark.parametrize("student", list(EXPECTED))
def test_fetched_feedback_never_shows_a_hidden_test(flow: dict[str, Path], student: str) -> None:
    submitted = nbformat.read(flow[student] / MODULE / NOTEBOOK, as_version=4)
    secrets = secret_lines(SOURCE, submitted)
    assert len(secrets) > 50
    (page,) = fetched_feedback(flow[student])
    assert leaked(page.read_text(), secrets) == []


def test_a_failed_hidden_check_shows_its_hint_in_the_fetched_feedback(flow: dict[str, Path]) -> None:
    (page,) = fetched_feedback(flow["bob"])
    assert HISTORY_HINT in page.read_text()


def test_the_formgrader_lists_every_submission_under_the_students_name(flow: dict[str, Path]) -> None:
    root = flow["course"]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    listed = {s["student"]: (s["last_name"], s["first_name"]) for s in api.get_submissions(MODULE)}
    assert listed == {"ada": ("Lovelace", "Ada"), "bob": ("Kahn", "Bob"), "cyd": ("cyd", "")}
    students = {s["id"]: s for s in api.get_students()}
    assert students["ada"]["email"] == "ada@example.org"
    assert all(s["last_name"] is not None and s["first_name"] is not None for s in students.values())
    # What manage_submissions.js shows ("None, None" when a name is missing):
    shown = [f"{last}, {first}" for last, first in listed.values()]
    assert not [name for name in shown if re.search(r"\bNone\b", name)]
