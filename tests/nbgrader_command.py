"""nbgrader as an instructor runs it: a command in a copy of the course."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def nbgrader(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader command in ``course`` with the environment's bin/ first (it runs alembic)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
