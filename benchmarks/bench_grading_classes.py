"""Course copies and classes of submissions for the grading benchmarks (no figures of its own)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from course.grader.processes import run_nbgrader
from course.settings import COURSE_ROOT, modules


def notebooks(module: str) -> list[Path]:
    return sorted((COURSE_ROOT / "source" / module).glob("*.ipynb"))


def make_course(root: Path, course_modules: list[str]) -> Path:
    """A copy of the course holding ``course_modules`` (source and release) and its config."""
    root.mkdir(parents=True, exist_ok=True)
    for module in course_modules:
        for name in ("source", "release"):
            shutil.copytree(COURSE_ROOT / name / module, root / name / module)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    return root


def submit(root: Path, student: str, module: str, complete: bool) -> None:
    """``student`` hands in ``module``: the source notebooks (complete) or the release ones (blank)."""
    kind = "source" if complete else "release"
    target = root / "submitted" / student / module
    target.mkdir(parents=True)
    for notebook in (COURSE_ROOT / kind / module).glob("*.ipynb"):
        shutil.copy(notebook, target)


def spread_class(root: Path, size: int) -> dict[str, list[str]]:
    """``size`` submissions spread over every module, round robin, two complete for one blank;
    the students of each module, by module."""
    course_modules = list(modules())
    make_course(root, course_modules)
    students: dict[str, list[str]] = {m: [] for m in course_modules}
    for index in range(size):
        module = course_modules[index % len(course_modules)]
        student = f"student-{index:02d}"
        submit(root, student, module, complete=index % 3 != 2)
        students[module].append(student)
    return {m: s for m, s in students.items() if s}


def timed_nbgrader(root: Path, *args: str) -> float:
    """Wall seconds of one ``python -m nbgrader ARGS`` command in ``root`` (it must succeed)."""
    started = time.perf_counter()
    result = run_nbgrader(args, root, time.monotonic() + 7200)
    assert result.code == 0, result.log[-3000:]
    return time.perf_counter() - started
