"""``Autograde.pre_convert_hook``: what nbgrader does not do before it grades a submission.

* A single misnamed notebook is graded under its expected name. Browsers save a second download as
  ``pubsub (1).ipynb``; nbgrader then skips it as an unknown notebook and scores the assignment
  zero. When exactly one expected notebook is missing and exactly one unexpected notebook is
  present, the hook renames the submitted file before nbgrader reads it.
* The student gets their name in the gradebook from the course's roster
  (:mod:`course.grader.roster`), so the Formgrader does not list "None, None" after a plain
  ``nbgrader autograde`` either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets.log import get_logger

from course.grader.markers import log_mended

#: Where the expected notebooks are, relative to the course root (nbgrader runs hooks from there).
SOURCE_FOLDER = "source"


def expected_notebooks(course_root: Path, assignment: str) -> list[str]:
    return sorted(path.name for path in (course_root / SOURCE_FOLDER / assignment).glob("*.ipynb"))


def misnamed(expected: list[str], present: list[str]) -> tuple[str, str] | None:
    """(submitted name, expected name) when one notebook is missing and one is unexpected."""
    missing = [name for name in expected if name not in present]
    extra = [name for name in present if name not in expected]
    if len(missing) == 1 and len(extra) == 1:
        return extra[0], missing[0]
    return None


def before_grading(notebooks: list[str], **_: Any) -> None:
    """The hook nbgrader_config.py sets: both steps, for one submission folder."""
    rename_misnamed_notebook(notebooks)
    name_the_student(notebooks)


def name_the_student(notebooks: list[str]) -> None:
    """Give the student their roster name in the course's gradebook (run from the course root)."""
    from course.grader.roster import read_roster, register_students

    gradebook = Path.cwd() / "gradebook.db"
    if not notebooks or not gradebook.exists():
        return
    student = Path(notebooks[0]).parent.parent.name
    register_students(gradebook, [student], read_roster(Path.cwd()))


def rename_misnamed_notebook(notebooks: list[str], **_: Any) -> None:
    """Called by nbgrader as ``hook(assignment=..., student=..., notebooks=...)`` for each
    submission folder. ``assignment`` and ``student`` may be globs ("*"), so both are read from the
    notebooks' path (``submitted/<student>/<assignment>/<notebook>``); ``notebooks`` is the list
    nbgrader converts next, so it is updated in place."""
    if not notebooks:
        return
    folder = Path(notebooks[0]).parent
    found = misnamed(expected_notebooks(Path.cwd(), folder.name), sorted(Path(n).name for n in notebooks))
    if found is None:
        return
    submitted, expected = found
    (folder / submitted).rename(folder / expected)
    index = next(i for i, path in enumerate(notebooks) if Path(path).name == submitted)
    notebooks[index] = str(folder / expected)
    log_mended(get_logger(), Path(expected).stem, f"graded {submitted} as {expected} (wrong notebook name)")
