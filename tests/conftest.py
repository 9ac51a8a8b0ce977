"""Isolation for every test process, and the end-of-run check that nothing was left behind.

Each pytest-xdist worker gets its own sandbox root and its own slice of the port range, cluster
bus ports included (they sit at a fixed offset above the slice). The end of each slice is kept
free for tests that need an exact block of ports (:func:`tests.ports.private_block`). Kernels,
nbgrader and every other child inherit the worker's environment, so nothing two workers start
can meet.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

# Helpers that assert on a test's behalf: pytest explains their failures as it does in test files.
pytest.register_assert_rewrite(
    "tests.owner_death",
    "tests.system.browser_lab",
    "tests.system.browser_page",
    "tests.system.cluster_helpers",
)

#: Ports at the end of each worker's slice that no sandbox server takes by itself.
SPARE_PORTS = 200
SPARE_VARIABLE = "COURSE_TEST_SPARE_PORTS"


_OWN_ROOT = "REDIS_COURSE_SANDBOX" not in os.environ
if _OWN_ROOT:  # a plain `pytest` run; scripts/test sets its own root before starting
    os.environ["REDIS_COURSE_SANDBOX"] = tempfile.mkdtemp(prefix="redis-course-pytest.")


def pytest_configure(config: pytest.Config) -> None:
    """Give this process its own sandbox root and slice of ports (an xdist controller keeps all)."""
    from course.settings import port_range

    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        worker, index, count = (
            workerinput["workerid"],
            int(workerinput["workerid"][2:]),
            workerinput["workercount"],
        )
        os.environ["REDIS_COURSE_SANDBOX"] = str(Path(os.environ["REDIS_COURSE_SANDBOX"]) / worker)
    elif getattr(config.option, "numprocesses", None):
        return  # the xdist controller runs no test; its workers split the range
    else:
        index, count = 0, 1
    ports = port_range()
    size = len(ports) // count
    first = ports.start + index * size
    last = first + size - 1
    spare = min(SPARE_PORTS, size // 3)  # a narrow REDIS_COURSE_PORTS still leaves servers most
    os.environ["REDIS_COURSE_PORTS"] = f"{first}-{last - spare}"
    os.environ[SPARE_VARIABLE] = f"{last - spare + 1}-{last}"


from course.sandbox.leftovers import sweep_leftovers  # noqa: E402
from course.sandbox.servers import RedisServer  # noqa: E402
from course.settings import sandbox_root  # noqa: E402


def sandbox_processes(root: Path) -> list[psutil.Process]:
    """Sandbox programs (redis-server, sentinels, prometheus, ...) working under ``root``.

    Redis rewrites its command line ("redis-server 127.0.0.1:port"), but its working directory is
    its sandbox directory.
    """
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if Path(process.cwd()).is_relative_to(root) and process.pid != os.getpid():
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def sandbox_dirs(root: Path) -> list[Path]:
    """Sandbox directories under ``root`` and under each worker's root inside it."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_dir() or path.name == "ports":
            continue
        if path.name.startswith("gw"):  # a worker's own root: its sandbox directories are inside
            found += sandbox_dirs(path)
        else:
            found.append(path)
    return found


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as started:
        yield started


def _leftovers(root: Path) -> list[str]:
    """What is still running or lying under ``root`` once dead owners' leftovers are swept.

    A kernel that nbval or a test killed with SIGKILL takes its servers with it but leaves their
    directories for the next start to sweep (the sandbox's design); the sweep here is that next
    start. What remains belongs to a live process: a leak.
    """
    sweep_leftovers(root)
    processes = sandbox_processes(root)
    lines = [f"LEFT BEHIND: {p.name()} pid {p.pid}: {' '.join(p.cmdline())}" for p in processes]
    lines += [f"LEFT BEHIND: sandbox directory {d}" for d in sandbox_dirs(root)]
    for process in processes:
        process.kill()
    return lines


_WORKER_LEFTOVERS = pytest.StashKey[list[str]]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist: collect what a worker found left behind in its own root."""
    found = node.workeroutput.get("leftovers", []) if hasattr(node, "workeroutput") else []
    node.config.stash.setdefault(_WORKER_LEFTOVERS, []).extend(found)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker checks its own root while it is still alive
        workeroutput["leftovers"] = _leftovers(sandbox_root())
        return
    lines = session.config.stash.get(_WORKER_LEFTOVERS, [])
    if not hasattr(session.config.option, "numprocesses") or not session.config.option.numprocesses:
        lines = _leftovers(sandbox_root())
    if lines:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _OWN_ROOT:
        shutil.rmtree(os.environ["REDIS_COURSE_SANDBOX"], ignore_errors=True)
