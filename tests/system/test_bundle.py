"""``python -m course bundle DEST``: what students receive, and ``./scripts/start`` run from it.

The bundle is searched for every solution and hidden test of every source notebook (the search is
shown to find a planted solution), for ``source/``, the grader and the tests. Then the bundle is
started as on a fresh machine: its own new virtual environment (the bootstrap installs the student
requirements), JupyterLab with ``--no-browser`` on a private port, isolated Jupyter folders; the
lab must answer, carry the course's lab settings, let a student validate a notebook, and go away
entirely when shut down through its API.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest

from course.grader.bundle import build_bundle
from course.settings import COURSE_ROOT, modules
from tests.ports import private_block

pytestmark = pytest.mark.slow

SOURCES = sorted((COURSE_ROOT / "source").glob("*/*.ipynb"))
NOTIFICATION = "@jupyterlab/apputils-extension:notification"
#: Lines shorter than this are too common to prove anything (``return result``).
DISTINCTIVE = 24
READY_SECONDS = 900  # a fresh pip install on a busy machine; reaching it is a failure


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("student") / "redis-course"
    build_bundle(COURSE_ROOT, destination)
    return destination


def notebook_text(path: Path) -> str:
    """A notebook as the lines a person reads: cell sources and text outputs."""
    parts = []
    for cell in nbformat.read(path, as_version=4).cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
            parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def text_files(root: Path) -> dict[Path, str]:
    """Every readable file of the bundle (notebooks as what they show), the environment excluded."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and ".venv" not in path.relative_to(root).parts:
            try:
                found[path] = notebook_text(path) if path.suffix == ".ipynb" else path.read_text()
            except UnicodeDecodeError:
                continue
    return found


def secret_blocks() -> dict[str, list[str]]:
    """The distinctive lines of each solution cell and each hidden-test block of every source
    notebook (lines its release notebook does not show), by where they come from."""
    found = {}
    for source in SOURCES:
        release = nbformat.read(COURSE_ROOT / "release" / source.parent.name / source.name, as_version=4)
        released = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
        for cell in nbformat.read(source, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                kind, lines = "solution", cell.source.splitlines()
            elif "BEGIN HIDDEN TESTS" in cell.source:
                kind = "hidden tests"
                lines = (
                    cell.source.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0].splitlines()
                )
            else:
                continue
            distinctive = [
                line.strip()
                for line in lines
                if len(line.strip()) >= DISTINCTIVE and line.strip() not in released
            ]
            if len(distinctive) >= 3:
                found[f"{source.parent.name}/{cell.get('id')} ({kind})"] = distinctive
    return found


def files_holding_a_secret(files: dict[Path, str]) -> dict[str, list[Path]]:
    """Blocks of which some file holds at least half of the distinctive lines (a single shared
    line, like ``pipe = client.pipeline(transaction=False)``, proves nothing)."""
    held = {}
    lines_of = {path: {line.strip() for line in text.splitlines()} for path, text in files.items()}
    for block, lines in secret_blocks().items():
        holders = [
            path for path, shown in lines_of.items() if sum(line in shown for line in lines) * 2 >= len(lines)
        ]
        if holders:
            held[block] = holders
    return held


def test_the_bundle_holds_what_a_student_needs(bundle: Path) -> None:
    for module in modules(COURSE_ROOT):
        for notebook in (COURSE_ROOT / "release" / module).glob("*.ipynb"):
            assert (bundle / "release" / module / notebook.name).read_bytes() == notebook.read_bytes()
    for name in (
        "course/__init__.py",
        "course/notebook.py",
        "course/sandbox/servers.py",
        "nbgrader_config.py",
    ):
        assert (bundle / name).is_file(), name
    assert (bundle / "requirements.txt").read_text() == (COURSE_ROOT / "requirements-student.txt").read_text()
    assert os.access(bundle / "scripts" / "start", os.X_OK)
    assert json.loads((bundle / "scripts" / "lab-settings" / "overrides.json").read_text())[NOTIFICATION]
    assert "./scripts/start" in (bundle / "README.md").read_text()


def test_the_bundle_has_no_solution_hidden_test_source_grader_or_tests(bundle: Path) -> None:
    paths = [path.relative_to(bundle) for path in bundle.rglob("*")]
    assert not [p for p in paths if p.parts[0] in ("source", "tests", "benchmarks", "autograded")]
    assert not [p for p in paths if "grader" in p.parts or p.name == "gradebook.db"]
    files = text_files(bundle)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert not [p for p, text in files.items() if marker in text], marker
    blocks = secret_blocks()
    assert sum("hidden tests" in b for b in blocks) >= len(SOURCES), "the search has hidden tests to look for"
    assert sum("solution" in b for b in blocks) >= len(SOURCES), "the search has solutions to look for"
    assert files_holding_a_secret(files) == {}


def test_the_search_finds_a_planted_solution_and_hidden_test(bundle: Path) -> None:
    files = text_files(bundle)
    for kind in ("solution", "hidden tests"):
        block, lines = next((b, lines) for b, lines in secret_blocks().items() if kind in b)
        helper = bundle / "course" / "lessons" / "pubsub.py"
        planted = {**files, helper: "def helper():\n" + "\n".join(f"    {line}" for line in lines)}
        assert files_holding_a_secret(planted) == {block: [helper]}


def base_python() -> str:
    """The interpreter under this virtual environment: a fresh machine has no course venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""  # not listening yet


@pytest.fixture
def lab(bundle: Path, tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    (port,) = private_block(1)
    token = secrets.token_hex(16)
    jupyter = tmp_path / "jupyter"
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin),
        "PYTHON": base_python(),
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces"),
        "IPYTHONDIR": str(jupyter / "ipython"),
    }
    for variable in ("VIRTUAL_ENV", "COURSE_VENV", "COURSE_ROOT", "PYTHONPATH"):
        env.pop(variable, None)
    log = (tmp_path / "start.log").open("wb")
    process = subprocess.Popen(
        [
            "./scripts/start",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.ip=127.0.0.1",
        ],
        cwd=bundle,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while get(f"{base}/api/status?token={token}")[0] != 200:
            assert process.poll() is None, (tmp_path / "start.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the lab never answered"
            time.sleep(0.5)
        yield base, token, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(bundle / ".venv", ignore_errors=True)


@pytest.mark.timeout(1200)
def test_start_works_from_the_bundle_on_a_fresh_machine(
    bundle: Path, lab: tuple[str, str, subprocess.Popen[bytes]]
) -> None:
    base, token, process = lab
    assert (bundle / ".venv" / "bin" / "python").exists(), "the bundle made its own environment"
    status, page = get(f"{base}/lab?token={token}")
    assert status == 200
    assert "JupyterLab" in page
    status, body = get(f"{base}/lab/api/settings/{NOTIFICATION}?token={token}")
    assert status == 200
    assert json.loads(body)["schema"]["properties"]["fetchNews"]["default"] == "false", "no news question"
    python = bundle / ".venv" / "bin" / "python"
    refused = subprocess.run(
        [python, "-m", "course", "grade"], cwd=bundle, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "instructor's command" in refused.stderr
    validate = subprocess.run(
        [bundle / ".venv" / "bin" / "nbgrader", "validate", "release/01_pubsub/pubsub.ipynb"],
        cwd=bundle,
        env={**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "VALIDATION FAILED" in validate.stdout, validate.stdout[-2000:] + validate.stderr[-2000:]
    assert "NotImplementedError" in validate.stdout, "a student's Validate runs the tests on the stubs"
    family = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
    request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
    assert process.wait(60) == 0
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == [], f"left running: {alive}"
