"""Running nbgrader as a command under a deadline, and killing a whole process tree.

nbgrader starts a kernel (in its own session) and the kernel starts Redis servers (in theirs), so
a signal to one process group never reaches them all: :func:`kill_tree` freezes every descendant
first, so nothing forks while the tree is collected, then kills them all.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from course.sandbox.leftovers import sweep_leftovers
from course.sandbox.process import die_with_parent


def nbgrader_env() -> dict[str, str]:
    """This environment with its ``bin/`` first on PATH: nbgrader runs ``alembic`` from PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it, then remove the sandbox folders they left."""
    try:
        family = {psutil.Process(pid)}
    except psutil.NoSuchProcess:
        return
    frozen: set[psutil.Process] = set()
    while family - frozen:
        for process in family - frozen:
            with contextlib.suppress(psutil.Error):
                process.suspend()  # a stopped process forks nothing new
            frozen.add(process)
            with contextlib.suppress(psutil.Error):
                family.update(process.children(recursive=True))
    for process in family:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(list(family), timeout=10)
    sweep_leftovers()  # a SIGKILLed kernel's servers leave their directories behind


@dataclass(frozen=True)
class CommandResult:
    code: int | None  # None: stopped at the deadline
    log: str


def run_nbgrader(args: Sequence[str], cwd: Path, deadline: float) -> CommandResult:
    """Run ``python -m nbgrader ARGS`` in ``cwd``; kill its whole tree at ``deadline`` (monotonic)."""
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=cwd,
            env=nbgrader_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only calls prctl: a killed caller takes nbgrader along
        )
        try:
            code: int | None = process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
            kill_tree(process.pid)
            process.wait()
        output.seek(0)
        return CommandResult(code, output.read())
