"""What the student bundle pins and the lab settings the bootstrap installs (files only)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import jsonschema
import nbformat
import pytest

from course.settings import COURSE_ROOT
from tests.unit.test_requirements import pins

STUDENT = COURSE_ROOT / "requirements-student.txt"
OVERRIDES = COURSE_ROOT / "scripts" / "lab-settings" / "overrides.json"
NOTIFICATION = "@jupyterlab/apputils-extension:notification"
#: The instructor's and maintainer's tools: tests, lint, types, the browser check, the queue.
INSTRUCTOR_ONLY = {
    "pytest",
    "pytest-xdist",
    "pytest-timeout",
    "nbval",
    "playwright",
    "ruff",
    "mypy",
    "coverage",
}
INSTRUCTOR_ONLY |= {"rq", "tqdm"}  # only course/grader imports them


def student_imports() -> set[str]:
    """Top-level modules the release notebooks and the student part of course/ import."""
    sources = [
        path.read_text()
        for path in (COURSE_ROOT / "course").rglob("*.py")
        if "grader" not in path.relative_to(COURSE_ROOT / "course").parts
    ]
    for notebook in (COURSE_ROOT / "release").glob("*/*.ipynb"):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                sources.append(
                    "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
                )
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"course", "__future__"}


def test_student_pins_are_the_course_pins_without_the_instructors_tools() -> None:
    student = pins(STUDENT.read_text().splitlines())
    everything = pins((COURSE_ROOT / "requirements.txt").read_text().splitlines())
    assert {name: everything.get(name) for name in student} == student, "a pin differs from requirements.txt"
    assert not INSTRUCTOR_ONLY & set(student)
    assert not {name for name in student if name.startswith(("types-", "pandas-stubs"))}
    assert {"jupyterlab", "nbgrader"} <= set(student), "the lab and its Validate button"


def test_every_module_students_import_comes_from_a_student_requirement() -> None:
    student = set(pins(STUDENT.read_text().splitlines()))
    providers = importlib.metadata.packages_distributions()
    needed = {}
    for module in student_imports():
        distributions = {d.lower() for d in providers.get(module, [])}
        needed[module] = distributions
    # IPython comes with JupyterLab's kernel (ipykernel); everything else must be pinned directly.
    missing = {m: d for m, d in needed.items() if not d & student and m != "IPython"}
    assert missing == {}, f"imported by student code but not in {STUDENT.name}: {missing}"
    assert {"redis", "pandas", "matplotlib"} <= set(needed)


def test_the_lab_settings_turn_the_news_question_off_and_fit_jupyterlabs_schema() -> None:
    overrides = json.loads(OVERRIDES.read_text())
    assert overrides[NOTIFICATION]["fetchNews"] == "false"
    lab = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    schema_file = lab / "@jupyterlab" / "apputils-extension" / "notification.json"
    if not schema_file.exists():
        pytest.skip(f"JupyterLab's schemas are not in {lab}")
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(overrides[NOTIFICATION], schema)
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: "no" is not a choice
        jsonschema.validate({"fetchNews": "no"}, schema)


def test_the_bootstrap_installs_the_lab_settings_into_the_environment() -> None:
    bootstrap = (COURSE_ROOT / "scripts" / "bootstrap").read_text()
    assert re.search(r'target="\$VENV/share/jupyter/lab/settings"', bootstrap)
    assert "scripts/lab-settings/overrides.json" in bootstrap
    assert re.search(r"^install_lab_settings$", bootstrap, re.MULTILINE), "defined but never run"
