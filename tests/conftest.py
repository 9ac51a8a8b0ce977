"""Shared fixtures, and the end-of-run check that the suite left no server or directory behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

# Isolate a plain `pytest` run too (scripts/test sets its own root before starting).
_OWN_ROOT = "REDIS_COURSE_SANDBOX" not in os.environ
if _OWN_ROOT:
    os.environ["REDIS_COURSE_SANDBOX"] = tempfile.mkdtemp(prefix="redis-course-pytest.")

from course.servers import RedisServer  # noqa: E402
from course.settings import sandbox_root  # noqa: E402


def sandbox_processes(root: Path) -> list[psutil.Process]:
    """redis-server processes working in a directory under ``root``.

    Redis rewrites its command line ("redis-server 127.0.0.1:port"), but its working directory is
    its sandbox directory.
    """
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "redis-server":
            continue
        try:
            if Path(process.cwd()).is_relative_to(root):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def sandbox_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [path for path in root.iterdir() if path.is_dir() and path.name != "ports"]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as started:
        yield started


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks once every worker has finished
    root = sandbox_root()
    processes = sandbox_processes(root)
    directories = sandbox_dirs(root)
    if processes or directories:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"LEFT BEHIND: redis-server pid {p.pid}: {' '.join(p.cmdline())}" for p in processes]
        lines += [f"LEFT BEHIND: sandbox directory {d}" for d in directories]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True, bold=True)
        for process in processes:
            process.kill()
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _OWN_ROOT:
        shutil.rmtree(root, ignore_errors=True)
