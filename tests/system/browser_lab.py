"""The course as the browser test serves it: a temporary copy, `scripts/start`, JupyterLab's API.

:func:`start_lab` runs the course's own `scripts/start` in the copy, in its own session, on a free
loopback port with a token; :class:`Lab` talks to it through its REST API and, at the end, shuts it
down through that API, reporting every process (kernels, their redis-servers) that had to be killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from course.settings import COURSE_ROOT
from tests.nbgrader_command import nbgrader

#: What `scripts/start` needs in the copy (it execs `jupyter lab` from the course root).
COPIED = (
    "course",
    "source",
    "release",
    "scripts",
    "nbgrader_config.py",
    "pyproject.toml",
    "requirements.txt",
)
# Generous for a loaded 2-core machine.
SERVER_READY_SECONDS = 60
NBGRADER_SECONDS = 600


def solution_source(notebook: Path, cell_id: str) -> str:
    """A solution cell's source with nbgrader's `### BEGIN/END SOLUTION` marker lines removed."""
    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if c.get("id") == cell_id)
    lines = cell.source.splitlines()
    return "\n".join(line for line in lines if not re.match(r"\s*### (BEGIN|END) SOLUTION", line))


def source_folders(course: Path) -> list[str]:
    """The modules the Formgrader must list: every folder in source/ (nbgrader lists them all)."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def copy_course(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in COPIED:
        source = COURSE_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(source, target / name)
    return target


def run_nbgrader(course: Path, *args: str) -> None:
    """An nbgrader command in the copy, which must succeed."""
    result = nbgrader(course, *args, timeout=NBGRADER_SECONDS)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}{result.stderr}"


def venv_is_set_up() -> str | None:
    """Why `scripts/start` would reinstall into the environment (and repoint it at the copy), or None.

    scripts/bootstrap reinstalls when its stamp does not match requirements.txt + pyproject.toml;
    doing that from the copy would point the environment's `import course` at a temporary folder.
    """
    venv = Path(sys.prefix)
    stamp = venv / ".course-installed"
    data = (COURSE_ROOT / "requirements.txt").read_bytes() + (COURSE_ROOT / "pyproject.toml").read_bytes()
    wanted = hashlib.sha256(data + sys.version.encode()).hexdigest()
    if sys.prefix == sys.base_prefix:
        return f"pytest runs outside a virtual environment ({sys.prefix}): run ./scripts/test"
    if not stamp.is_file() or stamp.read_text().strip() != wanted:
        return f"{venv} is not set up for this requirements.txt: run ./scripts/test (or ./scripts/start) once"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Lab:
    course: Path
    process: subprocess.Popen[bytes]
    log: Path
    port: int
    token: str
    runtime: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, timeout: float = 5) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def output_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"scripts/start exited with {self.process.returncode} before JupyterLab answered; "
                    f"its output ends with:\n{self.output_tail()}"
                )
            with contextlib.suppress(OSError, ValueError):
                self.api("GET", "/api/status", timeout=2)
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not answer GET /api/status within {SERVER_READY_SECONDS} s; "
                    f"scripts/start's output ends with:\n{self.output_tail()}"
                )
            time.sleep(0.2)

    def processes(self) -> list[psutil.Process]:
        """The server, everything it started (kernels, their redis-servers), and any kernel using
        this server's runtime folder."""
        found: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(self.process.pid)
            found[server.pid] = server
            for child in server.children(recursive=True):
                found[child.pid] = child
        for process in psutil.process_iter(["cmdline"]):
            if any(str(self.runtime) in part for part in process.info["cmdline"] or []):
                found[process.pid] = process
        return list(found.values())

    def shutdown(self) -> list[str]:
        """Stop the server through its API; return what had to be killed (empty when clean)."""
        started = self.processes()
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.api("POST", "/api/shutdown", timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        # Kernels get a moment to stop their redis-servers after the server is gone.
        _, alive = psutil.wait_procs(started, timeout=10)
        leftovers = [describe(p) for p in alive]
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        return leftovers


def describe(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return f"pid {process.pid}: {' '.join(process.cmdline())[:200]}"
    return f"pid {process.pid}"


def start_lab(course: Path, scratch: Path) -> Lab:
    """`scripts/start` in the copy, in its own session, on a free loopback port with a token."""
    port, token = free_port(), secrets.token_hex(16)
    runtime, log = scratch / "runtime", scratch / "lab.log"
    runtime.mkdir()
    env = {
        **os.environ,
        "COURSE_VENV": sys.prefix,  # the real environment: nothing is installed
        "JUPYTER_RUNTIME_DIR": str(runtime),  # kernel connection files: find our kernels by it
    }
    args = [
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        # A fresh lab: no workspace or settings of the person running the tests.
        f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
        f"--LabApp.user_settings_dir={scratch / 'settings'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(course / "scripts" / "start"), *args],
            cwd=course,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Lab(course, process, log, port, token, runtime)
