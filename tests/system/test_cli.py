"""`python -m course doctor` and `clean` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from course.sandbox.leftovers import OWNER_FILE
from course.settings import sandbox_root


def course_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_doctor_reports_versions_tools_and_a_working_sandbox() -> None:
    result = course_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in (
        "Redis      7.",
        "redis-cli",
        "redis-benchmark",
        "redis-check-aof",
        "answered PING",
        "nbgrader",
    ):
        assert expected in result.stdout
    assert "TLS yes" in result.stdout or "TLS no" in result.stdout


def test_doctor_without_redis_says_what_to_install(tmp_path: Path) -> None:
    # An empty PATH and override: nothing to find (the fixed fallback folders are patched out too).
    script = (
        "import sys, pathlib, course.sandbox.binaries as b\n"
        "b.search_dirs = lambda: [pathlib.Path(sys.argv[1])]\n"
        "from course.cli import main\n"
        "sys.exit(main(['doctor']))\n"
    )
    env = {**os.environ, "PATH": str(tmp_path), "REDIS_COURSE_BIN_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "redis      MISSING" in result.stdout
    assert "apt-get install redis-server redis-tools" in result.stdout


def test_clean_removes_leftovers_of_dead_processes() -> None:
    leftover = sandbox_root() / "999999999-dead-kernel"
    leftover.mkdir(parents=True)
    (leftover / OWNER_FILE).write_text(json.dumps({"pid": 999_999_999, "started": 1.0}))
    result = course_cli("clean")
    assert result.returncode == 0
    assert not leftover.exists()
    assert "Removed 1 leftover sandbox directory." in result.stdout
