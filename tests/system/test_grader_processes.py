"""A process that runs nbgrader and is killed outright takes its nbgrader command along."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from course.checks import wait_until


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")
def test_a_killed_caller_takes_its_nbgrader_command_along(tmp_path: Path) -> None:
    # The caller's "python -m nbgrader" is a stand-in that records its pid and sleeps.
    stand_in, pid_file = tmp_path / "python", tmp_path / "nbgrader.pid"
    stand_in.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    stand_in.chmod(0o755)
    caller = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import sys, time
                from pathlib import Path
                from course.grader.processes import run_nbgrader
                sys.executable = {str(stand_in)!r}
                run_nbgrader(["autograde", "01_pubsub"], Path({str(tmp_path)!r}), time.monotonic() + 300)
            """),
        ]
    )
    try:
        assert wait_until(pid_file.exists, timeout=60), "the caller never started its nbgrader command"
        assert wait_until(lambda: pid_file.read_text().strip().isdigit(), timeout=10)
        command = psutil.Process(int(pid_file.read_text()))
        assert command.is_running()
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait()
        assert wait_until(lambda: gone(command), timeout=30), "nbgrader outlived the process that ran it"
    finally:
        caller.kill()
        caller.wait()
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(int(pid_file.read_text())).kill()
