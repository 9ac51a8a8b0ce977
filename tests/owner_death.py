"""What the "programs die with their owner" tests share: SIGKILL the owner, wait, list survivors."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from course.settings import sandbox_root
from tests.kernel import Kernel


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent is dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def printed_pids(kernel: Kernel, code: str) -> list[int]:
    """Run ``code``, which prints pids separated by spaces, in ``kernel``; the pids it printed."""
    ok, text = kernel.run(code)
    assert ok, text
    return [int(pid) for pid in text.split()]


def owned_directories(owner_pid: int) -> list[Path]:
    """The sandbox directories the process ``owner_pid`` made (their names start with its pid)."""
    return [path for path in sandbox_root().iterdir() if path.name.startswith(f"{owner_pid}-")]


def sigkill_and_wait(owner_pid: int, pids: Sequence[int], timeout: float) -> list[int]:
    """SIGKILL ``owner_pid``, wait until every process in ``pids`` is gone; return those still alive.

    The kernel delivers the parent-death signal at once; ``timeout`` only bounds the polling.
    """
    os.kill(owner_pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]
