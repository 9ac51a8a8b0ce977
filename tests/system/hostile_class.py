"""A class of 21 generated 01_pubsub submissions: correct, blank, partly wrong and hostile.

Each student says how the notebook is made, which graded cells must pass (the expected score is
the sum of those cells' ``points`` in the source notebook, whatever the split), the status
``python -m course grade`` gives and a fragment of the reason it reports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course.settings import COURSE_ROOT

MODULE = "01_pubsub"
NOTEBOOK = "pubsub.ipynb"
SOURCE = nbformat.read(COURSE_ROOT / "source" / MODULE / NOTEBOOK, as_version=4)
RELEASE = nbformat.read(COURSE_ROOT / "release" / MODULE / NOTEBOOK, as_version=4)
#: Points of each graded cell, read from the source notebook.
POINTS = {
    c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
    for c in SOURCE.cells
    if c.metadata.get("nbgrader", {}).get("grade")
}
EVERY_PART = tuple(POINTS)
MAX_SCORE = sum(POINTS.values())
#: The hint of the hidden check an uncapped chat history fails (Part A).
HISTORY_HINT = "history must be capped at `history` entries"

Change = Callable[[NotebookNode], None]


def cell(notebook: NotebookNode, cell_id: str) -> NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def prepend(cell_id: str, code: str) -> Change:
    def change(notebook: NotebookNode) -> None:
        target = cell(notebook, cell_id)
        target.source = code + "\n" + target.source

    return change


def replace(cell_id: str, code: str) -> Change:
    def change(notebook: NotebookNode) -> None:
        cell(notebook, cell_id).source = code

    return change


def edit(cell_id: str, old: str, new: str) -> Change:
    def change(notebook: NotebookNode) -> None:
        target = cell(notebook, cell_id)
        assert old in target.source, f"{cell_id} no longer contains {old!r}: update the class"
        target.source = target.source.replace(old, new)

    return change


def stub(*cell_ids: str) -> Change:
    def change(notebook: NotebookNode) -> None:
        for cell_id in cell_ids:
            cell(notebook, cell_id).source = cell(RELEASE, cell_id).source

    return change


def delete(*cell_ids: str) -> Change:
    def change(notebook: NotebookNode) -> None:
        notebook.cells = [c for c in notebook.cells if c.get("id") not in cell_ids]

    return change


def chain(*changes: Change) -> Change:
    def change(notebook: NotebookNode) -> None:
        for each in changes:
            each(notebook)

    return change


def unchanged(notebook: NotebookNode) -> None:
    """A correct submission: the reference solutions."""


def duplicate_cell_id(notebook: NotebookNode) -> None:
    notebook.cells[3]["id"] = notebook.cells[2]["id"]


def duplicate_grade_id(notebook: NotebookNode) -> None:
    twin = copy.deepcopy(cell(notebook, "part-c-tests"))
    twin["id"] = "pasted-twice"
    notebook.cells.append(twin)


forget_the_ttl = edit("part-b-solution", ", px=self.ttl_ms, get=True)", ", get=True)")
uncapped_history = edit("part-a-solution", "        pipe.ltrim(self.history_key, -self.history, -1)\n", "")


def squat(ports: range) -> Change:
    """Bind (and hold) every port of ``ports`` from the student's kernel."""
    code = f"""
import socket
_squatted = []
for _port in range({ports.start}, {ports.stop}):
    _s = socket.socket()
    try:
        _s.bind(("127.0.0.1", _port))
        _s.listen()
        _squatted.append(_s)
    except OSError:
        _s.close()
"""
    return prepend("part-a-solution", code)


@dataclass(frozen=True)
class Student:
    make: Change | str  # a change to the source notebook, or the file's raw text
    passing: tuple[str, ...]  # graded cells that must pass
    status: str = "graded"
    reason: str = ""  # a fragment of a reason; "" means no reason at all
    file_name: str = NOTEBOOK

    @property
    def score(self) -> float:
        return sum(POINTS[part] for part in self.passing)


def hostile_class(squatted: range) -> dict[str, Student]:
    parts = EVERY_PART
    return {
        "correct-1": Student(unchanged, parts),
        "correct-2": Student(unchanged, parts),
        "blank": Student(stub("part-a-solution", "part-b-solution", "part-c-solution"), ()),
        # Fails a hidden check of Part A (whose hint feedback shows) and a visible one of Part B.
        "partly-wrong": Student(chain(uncapped_history, forget_the_ttl), ("part-c-tests",)),
        "infinite-loop": Student(
            replace("part-a-solution", "while True:\n    pass"),
            ("part-b-tests", "part-c-tests"),
            reason="ran past the cell time limit",
        ),
        "ignores-interrupt": Student(
            replace(
                "part-a-solution",
                "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    time.sleep(0.01)",
            ),
            (),
            "rejected",
            "ignored the interrupt",
        ),
        "sys-exit": Student(
            prepend("part-b-solution", "import sys\nsys.exit(1)"),
            ("part-a-tests", "part-c-tests"),
            reason="called sys.exit()",
        ),
        "os-exit": Student(
            prepend("part-c-solution", "import os\nos._exit(1)"), (), "rejected", "kernel died"
        ),
        "kills-itself": Student(
            prepend("part-b-solution", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
            (),
            "rejected",
            "kernel died",
        ),
        "kills-its-servers": Student(
            prepend(
                "part-a-solution",
                "try:\n    r.flushall()\n    r.shutdown(nosave=True)\n"
                "except Exception:\n    pass\nserver.kill()",
            ),
            parts,
        ),
        "floods-output": Student(prepend("part-a-solution", "print('x' * 30_000_000)"), parts, reason="cut "),
        "deleted-test": Student(delete("part-a-tests"), parts, reason="restored deleted cell part-a-tests"),
        # nbgrader's own add_missing_cells raises KeyError here (the cell before the test is gone).
        "deleted-setup-and-part-b": Student(
            delete("setup", "part-b-solution", "part-b-tests"),
            ("part-a-tests", "part-c-tests"),
            reason="restored deleted cell setup",
        ),
        "edited-test": Student(
            chain(stub("part-b-solution", "part-c-solution"), replace("part-b-tests", "# trust me\npass")),
            ("part-a-tests",),
        ),
        "duplicate-cell-ids": Student(duplicate_cell_id, parts, reason="renamed duplicated cell id"),
        "duplicate-grade-ids": Student(
            duplicate_grade_id, parts, reason="ungraded 1 pasted copy(ies) of cell part-c-tests"
        ),
        "not-json": Student("{this is not a notebook", (), "rejected", "not valid JSON"),
        "wrong-name": Student(
            unchanged, parts, reason="graded pubsub (1).ipynb as pubsub.ipynb", file_name="pubsub (1).ipynb"
        ),
        "port-squatter": Student(squat(squatted), parts),
        "no-notebook": Student("", (), "rejected", "no notebook submitted"),
        "late-fix": Student(stub("part-a-solution", "part-b-solution", "part-c-solution"), ()),
    }


def write_submission(root: Path, student: str, spec: Student) -> None:
    folder = root / "submitted" / student / MODULE
    folder.mkdir(parents=True)
    if spec.make == "":
        (folder / "notes.txt").write_text("I did not finish")
    elif isinstance(spec.make, str):
        (folder / spec.file_name).write_text(spec.make)
    else:
        notebook = copy.deepcopy(SOURCE)
        spec.make(notebook)
        # No validation on write: hostile is the point.
        (folder / spec.file_name).write_text(json.dumps(notebook, indent=1))
