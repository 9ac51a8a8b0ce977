"""Who owns a sandbox directory, and the sweep that removes what dead owners left behind.

Every sandbox process writes ``owner.json`` into its private directory: the pid and start time of
the Python process that started it, and of the program itself. A kernel killed with SIGKILL runs
no clean-up; its programs die with it (parent-death signal) but its directories stay until the
next start anywhere sweeps them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from course.settings import sandbox_root

OWNER_FILE = "owner.json"
#: A directory this young whose owner file cannot be read is probably still being created.
YOUNG_SECONDS = 60
#: Folders under the sandbox root that are not sandbox directories.
NOT_SANDBOXES = frozenset({"ports"})


def process_start_time(pid: int) -> float | None:
    """Start time of a live process; ``None`` if it is gone or a zombie (dead, not yet reaped)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def same_process(pid: int, started: float | None) -> bool:
    """Is ``pid`` still the process that started at ``started`` (not a reused pid)?"""
    actual = process_start_time(pid)
    return actual is not None and started is not None and abs(actual - started) < 0.5


def write_owner(directory: Path, child_pid: int | None) -> None:
    """Record this process (and the program it started, if any) as the owner of ``directory``."""
    owner: dict[str, Any] = {"pid": os.getpid(), "started": process_start_time(os.getpid())}
    if child_pid is not None:
        owner["server"] = {"pid": child_pid, "started": process_start_time(child_pid)}
    # Atomic: a sweep in another process must never read a half-written owner file.
    partial = directory / f".{OWNER_FILE}.tmp"
    partial.write_text(json.dumps(owner))
    os.replace(partial, directory / OWNER_FILE)


def _owner(directory: Path, force: bool) -> dict[str, Any] | None:
    """The owner record, a dead placeholder, or ``None`` when the directory must be left alone."""
    try:
        owner: dict[str, Any] = json.loads((directory / OWNER_FILE).read_text())
        return owner
    except (OSError, ValueError):
        try:
            young = time.time() - directory.stat().st_mtime < YOUNG_SECONDS
        except FileNotFoundError:
            return None  # removed meanwhile by its owner
        if young and not force:
            return None  # being created, or not ours
        return {"pid": -1, "started": 0.0}


def sweep_leftovers(root: Path | None = None, *, force: bool = False) -> list[Path]:
    """Remove sandbox directories whose owner process is gone, killing any program still in them.

    ``force`` removes every sandbox directory, live owner or not (``python -m course clean --force``).
    """
    root = root or sandbox_root()
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for directory in root.iterdir():
        if not directory.is_dir() or directory.name in NOT_SANDBOXES:
            continue
        owner = _owner(directory, force)
        if owner is None:
            continue
        if not force and owner["pid"] > 0 and same_process(owner["pid"], owner["started"]):
            continue
        child = owner.get("server")
        if child and same_process(child["pid"], child["started"]):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child["pid"], signal.SIGKILL)  # the program and its save children
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed
