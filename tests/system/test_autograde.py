"""Grading a class of 21 generated submissions: correct, blank, partly wrong and hostile.

Every submission is graded end to end by `course.grader.classgrader` (real nbgrader, real kernels, real
Redis); every expected score and every reported reason is asserted.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat import NotebookNode

from course.grader.classgrader import ClassGrader, Outcome, extract_zip
from course.settings import COURSE_ROOT
from tests.ports import private_block

MODULE = "01_pubsub"
NOTEBOOK = "pubsub.ipynb"
SOURCE = nbformat.read(COURSE_ROOT / "source" / MODULE / NOTEBOOK, as_version=4)
RELEASE = nbformat.read(COURSE_ROOT / "release" / MODULE / NOTEBOOK, as_version=4)
PORT_BLOCK = private_block(50)  # the sandbox servers of this file use only these
SQUATTED = PORT_BLOCK[:40]  # the port squatter binds these; servers get the 10 left
PORTS = f"{PORT_BLOCK.start}-{PORT_BLOCK.stop - 1}"


def cell(notebook: NotebookNode, cell_id: str) -> NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def prepend(cell_id: str, code: str) -> Callable[[NotebookNode], None]:
    def change(notebook: NotebookNode) -> None:
        target = cell(notebook, cell_id)
        target.source = code + "\n" + target.source

    return change


def replace(cell_id: str, code: str) -> Callable[[NotebookNode], None]:
    def change(notebook: NotebookNode) -> None:
        cell(notebook, cell_id).source = code

    return change


def stub(*cell_ids: str) -> Callable[[NotebookNode], None]:
    def change(notebook: NotebookNode) -> None:
        for cell_id in cell_ids:
            cell(notebook, cell_id).source = cell(RELEASE, cell_id).source

    return change


def chain(*changes: Callable[[NotebookNode], None]) -> Callable[[NotebookNode], None]:
    def change(notebook: NotebookNode) -> None:
        for each in changes:
            each(notebook)

    return change


def delete(cell_id: str) -> Callable[[NotebookNode], None]:
    def change(notebook: NotebookNode) -> None:
        notebook.cells = [c for c in notebook.cells if c.get("id") != cell_id]

    return change


def forget_the_ttl(notebook: NotebookNode) -> None:
    solution = cell(notebook, "part-b-solution")
    solution.source = solution.source.replace(", px=self.ttl_ms, get=True)", ", get=True)")


def duplicate_cell_id(notebook: NotebookNode) -> None:
    notebook.cells[3]["id"] = notebook.cells[2]["id"]


def duplicate_grade_id(notebook: NotebookNode) -> None:
    twin = copy.deepcopy(cell(notebook, "part-c-tests"))
    twin["id"] = "pasted-twice"
    notebook.cells.append(twin)


SQUAT = f"""
import socket
_squatted = []
for _port in range({SQUATTED.start}, {SQUATTED.stop}):
    _s = socket.socket()
    try:
        _s.bind(("127.0.0.1", _port))
        _s.listen()
        _squatted.append(_s)
    except OSError:
        _s.close()
"""

# student -> (how the notebook is made, expected status, expected score, expected reason fragment)
CLASS: dict[str, tuple[Callable[[NotebookNode], None] | str, str, float, str]] = {
    "correct-1": (lambda nb: None, "graded", 10, ""),
    "correct-2": (lambda nb: None, "graded", 10, ""),
    "correct-3": (lambda nb: None, "graded", 10, ""),
    "blank": (stub("part-a-solution", "part-b-solution", "part-c-solution"), "graded", 0, ""),
    "partly-wrong": (
        chain(forget_the_ttl, stub("part-c-solution")),
        "graded",
        3,
        "",
    ),
    "infinite-loop": (replace("part-a-solution", "while True:\n    pass"), "graded", 7, "ran longer than"),
    "ignores-interrupt": (
        replace(
            "part-a-solution",
            "import signal, time\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True:\n    time.sleep(0.01)",
        ),
        "rejected",
        0,
        "ignored the interrupt",
    ),
    "sys-exit": (prepend("part-b-solution", "import sys\nsys.exit(1)"), "graded", 7, "called sys.exit()"),
    "os-exit": (prepend("part-c-solution", "import os\nos._exit(1)"), "rejected", 0, "the kernel died"),
    "kills-itself": (
        prepend("part-b-solution", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "rejected",
        0,
        "the kernel died",
    ),
    "kills-its-servers": (
        prepend(
            "part-a-solution",
            "try:\n    r.flushall()\n    r.shutdown(nosave=True)\nexcept Exception:\n    pass\nserver.kill()",
        ),
        "graded",
        10,
        "",
    ),
    "floods-output": (prepend("part-a-solution", "print('x' * 30_000_000)"), "graded", 10, "huge output"),
    "deleted-test": (delete("part-a-tests"), "graded", 10, "restored deleted test cell part-a-tests"),
    "edited-test": (
        chain(stub("part-b-solution", "part-c-solution"), replace("part-b-tests", "# trust me\npass")),
        "graded",
        3,
        "",
    ),
    "duplicate-cell-ids": (duplicate_cell_id, "graded", 10, "renamed duplicated cell id"),
    "duplicate-grade-ids": (
        duplicate_grade_id,
        "graded",
        10,
        "removed a duplicated copy of graded cell part-c-tests",
    ),
    "not-json": ("{this is not a notebook", "rejected", 0, "is not a valid notebook"),
    "wrong-name": (lambda nb: None, "graded", 10, "graded pubsub (1).ipynb as pubsub.ipynb"),
    "port-squatter": (prepend("part-a-solution", SQUAT), "graded", 10, ""),
    "no-notebook": ("", "rejected", 0, "no notebook named pubsub.ipynb"),
    "late-fix": (stub("part-a-solution", "part-b-solution", "part-c-solution"), "graded", 0, ""),
}


def write_submission(root: Path, student: str, make: Callable[[NotebookNode], None] | str) -> None:
    folder = root / "submitted" / student / MODULE
    folder.mkdir(parents=True)
    if student == "no-notebook":
        (folder / "notes.txt").write_text("I did not finish")
    elif isinstance(make, str):
        (folder / NOTEBOOK).write_text(make)
    else:
        notebook = copy.deepcopy(SOURCE)
        make(notebook)
        name = "pubsub (1).ipynb" if student == "wrong-name" else NOTEBOOK
        (folder / name).write_text(json.dumps(notebook, indent=1))  # no validation: hostile is the point


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("class")
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / MODULE, root / name / MODULE)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    for student, (make, *_) in CLASS.items():
        write_submission(root, student, make)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        scratch = root / "scratch"
        scratch.mkdir()
        grader = ClassGrader(
            root=root, modules=(MODULE,), jobs=2, timeout=120, progress=False, scratch=scratch
        )
        outcomes = grader.run()
        assert list(scratch.iterdir()) == [], "per-submission sandboxes were left behind"
    return root, {o.student: o for o in outcomes}


pytestmark = pytest.mark.slow


def test_the_class_has_at_least_20_students() -> None:
    assert len(CLASS) >= 20


def errors(root: Path, student: str) -> list[str]:
    """The errors stored in a student's graded notebook, to explain an unexpected score."""
    path = root / "autograded" / student / MODULE / NOTEBOOK
    if not path.exists():
        return []
    notebook = json.loads(path.read_text())
    return [
        f"{c.get('id')}: {o.get('ename')}: {o.get('evalue')}"
        for c in notebook["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


@pytest.mark.parametrize("student", list(CLASS))
def test_every_submission_gets_its_expected_status_score_and_reason(
    graded_class: tuple[Path, dict[str, Outcome]], student: str
) -> None:
    root, outcomes = graded_class
    _, status, score, reason = CLASS[student]
    outcome = outcomes[student]
    assert outcome.status == status, outcome
    assert outcome.score == score, (outcome, errors(root, student))
    assert outcome.max_score == 10
    if reason:
        assert any(reason in r for r in outcome.reasons), outcome.reasons
    else:
        assert outcome.reasons == [], outcome.reasons


def test_reports_and_feedback(graded_class: tuple[Path, dict[str, Outcome]]) -> None:
    root, outcomes = graded_class
    grades = (root / "grades" / "grades.csv").read_text().splitlines()
    assert grades[0] == "student,module,score,max_score"
    assert len(grades) == 1 + len(CLASS)
    assert "correct-1,01_pubsub,10.0,10.0" in grades
    exercises = (root / "grades" / "exercises.csv").read_text().splitlines()
    assert len(exercises) == 1 + 3 * len(CLASS)
    assert "partly-wrong,01_pubsub,part-a-tests,3.0,3.0" in exercises
    assert "partly-wrong,01_pubsub,part-b-tests,0.0,3.0" in exercises
    report = (root / "grades" / "report.csv").read_text()
    assert "not-json,01_pubsub,rejected,0.0,10.0" in report
    assert (root / "grades" / "distribution.png").read_bytes()[:4] == b"\x89PNG"
    for student, outcome in outcomes.items():
        html = root / "feedback" / student / MODULE / "pubsub.html"
        assert html.exists() == (outcome.status == "graded"), student
        if html.exists():
            text = html.read_text()
            assert "HIDDEN TESTS" not in text
            assert "as everything" not in text, f"{student}: a hidden test's code is in the feedback"
            assert f"Score: {outcome.score:g} / 10" in text


def test_hostile_output_is_cut_in_the_stored_notebook(graded_class: tuple[Path, dict[str, Outcome]]) -> None:
    root, _ = graded_class
    stored = root / "autograded" / "floods-output" / MODULE / NOTEBOOK
    assert stored.stat().st_size < 2_000_000


def test_nothing_is_left_running(graded_class: tuple[Path, dict[str, Outcome]]) -> None:
    root, _ = graded_class
    mine = [
        p
        for p in psutil.process_iter(["cmdline"])
        if any("ipykernel" in part or "nbgrader" in part for part in (p.info["cmdline"] or []))
        and str(root) in " ".join(p.info["cmdline"] or [])
    ]
    assert mine == []


def test_a_second_run_grades_only_what_changed(graded_class: tuple[Path, dict[str, Outcome]]) -> None:
    root, _ = graded_class
    late = root / "submitted" / "late-fix" / MODULE / NOTEBOOK
    nbformat.write(SOURCE, late)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_COURSE_PORTS", PORTS)
        outcomes = {
            o.student: o for o in ClassGrader(root=root, modules=(MODULE,), jobs=2, progress=False).run()
        }
    assert outcomes["late-fix"].status == "graded"
    assert outcomes["late-fix"].score == 10
    assert {o.status for s, o in outcomes.items() if s != "late-fix"} == {"unchanged"}
    assert "late-fix,01_pubsub,10.0,10.0" in (root / "grades" / "grades.csv").read_text().splitlines()


def test_a_zip_of_submissions_is_unpacked_safely(tmp_path: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("submitted/ann/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("bob/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("../evil/01_pubsub/pubsub.ipynb", "{}")
        bundle.writestr("ann/01_pubsub/../../../escape.ipynb", "{}")
        bundle.writestr("/abs/01_pubsub/x.ipynb", "{}")
    submitted = tmp_path / "course" / "submitted"
    assert sorted(extract_zip(archive, submitted)) == [
        "ann/01_pubsub/pubsub.ipynb",
        "bob/01_pubsub/pubsub.ipynb",
    ]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.ipynb")) == [
        "course/submitted/ann/01_pubsub/pubsub.ipynb",
        "course/submitted/bob/01_pubsub/pubsub.ipynb",
    ]


def test_a_submission_past_the_time_limit_is_stopped_and_the_next_one_still_graded(tmp_path: Path) -> None:
    root = tmp_path / "course"
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / MODULE, root / name / MODULE)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    write_submission(root, "a-sleeper", prepend("part-a-solution", "import time\ntime.sleep(50)"))
    write_submission(root, "b-correct", lambda nb: None)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    grader = ClassGrader(root=root, modules=(MODULE,), jobs=1, timeout=15, progress=False, scratch=scratch)
    outcomes = {o.student: o for o in grader.run()}
    assert outcomes["a-sleeper"].status == "timed out"
    assert outcomes["a-sleeper"].reasons == ["grading took longer than 15 s and was stopped"]
    assert outcomes["a-sleeper"].score == 0
    assert outcomes["b-correct"].status == "graded"
    assert outcomes["b-correct"].score == 10, "a fresh worker grades the next submission"
    assert list(scratch.iterdir()) == []
    assert grading_workers() == [], "grading workers must not outlive the run"


def grading_workers() -> list[psutil.Process]:
    found = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # gone, or a zombie, meanwhile
            if "course.grader.worker" in " ".join(process.cmdline()):
                found.append(process)
    return found
