"""``python -m course bundle DEST``: what students receive, built from the instructor's repository.

The bundle holds the release notebooks, the student part of ``course/`` (everything but
``course/grader/``), the course's ``nbgrader_config.py`` (its grader part switches itself off
without ``course/grader``; Validate then runs with the course's cell timeout), the start script
and its bootstrap with the course's lab settings, the student requirements as the bundle's own
``requirements.txt``, and a README for students. Never ``source/``, the grader, the tests and
their exercise mutants, nor anything Git ignores (virtual environments, gradebooks, caches).
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from course.settings import modules

#: Files copied as they are (relative to the repository).
SCRIPTS = ("scripts/start", "scripts/bootstrap", "scripts/lab-settings/overrides.json")
#: What students get instead of the instructor's requirements.txt.
STUDENT_REQUIREMENTS = "requirements-student.txt"
STUDENT_README = Path(__file__).with_name("student_readme.md")
#: The bootstrap fingerprints requirements.txt with pyproject.toml: the bundle's own, minimal one.
PYPROJECT = """[project]
name = "redis-advanced-course-student"
version = "{version}"
description = "Redis Advanced Concepts: the student's copy"
requires-python = ">=3.11"
dependencies = []  # pinned in requirements.txt; ./scripts/start installs them
"""
NEVER = ("__pycache__", ".ipynb_checkpoints", ".mypy_cache", ".ruff_cache", ".pytest_cache")


class BundleError(RuntimeError):
    """The bundle cannot be built where asked."""


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in NEVER or name.endswith((".pyc", ".pyo"))}


def build_bundle(root: Path, destination: Path) -> list[Path]:
    """Write the student bundle into ``destination`` (new or empty); the files written."""
    import course

    if destination.exists() and any(destination.iterdir()):
        raise BundleError(f"{destination} is not empty: choose a new folder")
    if destination.resolve().is_relative_to(root.resolve()):
        raise BundleError(f"{destination} is inside the course: choose a folder outside {root}")
    destination.mkdir(parents=True, exist_ok=True)
    release = root / "release"
    for module in modules(root):
        if (release / module).is_dir():
            shutil.copytree(release / module, destination / "release" / module, ignore=_ignore)
    shutil.copytree(
        root / "course",
        destination / "course",
        ignore=lambda folder, names: (
            _ignore(folder, names) | ({"grader"} if Path(folder) == root / "course" else set())
        ),
    )
    for name in SCRIPTS:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    for name in ("scripts/start", "scripts/bootstrap"):
        path = destination / name
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.copy(root / "nbgrader_config.py", destination / "nbgrader_config.py")
    shutil.copy(root / STUDENT_REQUIREMENTS, destination / "requirements.txt")
    (destination / "pyproject.toml").write_text(PYPROJECT.format(version=course.__version__))
    shutil.copy(STUDENT_README, destination / "README.md")
    (destination / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\nexchange/\n")
    return sorted(path for path in destination.rglob("*") if path.is_file())
