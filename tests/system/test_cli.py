"""`python -m course doctor` and `clean` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from course.sandbox.binaries import find_redis
from course.sandbox.leftovers import OWNER_FILE
from course.sandbox.prometheus import monitoring_tools
from course.settings import sandbox_root
from tests.builds import build_id, server_builds


def course_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("folder", server_builds(), ids=build_id)
def test_doctor_names_the_server_its_version_and_every_tool(folder: Path) -> None:
    result = course_cli("doctor", env={"REDIS_COURSE_BIN_DIR": str(folder)})
    assert result.returncode == 0, result.stdout + result.stderr
    with mock.patch.dict(os.environ, {"REDIS_COURSE_BIN_DIR": str(folder)}):
        find_redis.cache_clear()
        binaries = find_redis()
        find_redis.cache_clear()
    tls = "TLS yes" if binaries.tls else "TLS no (05_security needs it)"
    assert f"Server     {binaries.describe()}, {tls}" in result.stdout
    assert binaries.flavour.capitalize() in ("Redis", "Valkey")
    listed = dict(re.findall(r"^  (\S+(?: \S+)*?) {2,}(.+)$", result.stdout, flags=re.MULTILINE))
    for tool in ("redis-cli", "redis-benchmark", "redis-check-aof", "redis-sentinel"):
        path = binaries.tools.get(tool)
        assert listed[tool].startswith(str(path) if path else "MISSING"), tool
    assert listed["a Sentinel runs"] == " ".join(binaries.sentinel_command())
    for program, found in monitoring_tools().items():
        assert listed[program] == (found or "MISSING"), program
    assert "answered PING" in result.stdout
    assert "nbgrader" in result.stdout


def test_doctor_says_which_lesson_a_missing_tool_stops(tmp_path: Path) -> None:
    # Only the server is found (a copy of the real one, alone in its folder): tools are missing.
    server = find_redis().server
    alone = tmp_path / server.name
    shutil.copy(server, alone)
    script = (
        "import sys, pathlib, course.sandbox.binaries as b, course.cli as cli\n"
        "b.search_dirs = lambda: [pathlib.Path(sys.argv[1])]\n"
        "def _missing(name):\n"
        "    raise b.RedisNotFoundError(name)\n"
        "b.find_program = _missing\n"
        "sys.exit(cli.main(['doctor']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        # Its own temporary folder: the aliases and TLS verdict of this copy stay in tmp_path.
        env={**os.environ, "REDIS_COURSE_BIN_DIR": str(tmp_path), "TMPDIR": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # missing tools only gate lessons
    assert "redis-benchmark  MISSING" in result.stdout
    assert "PROBLEM: redis-benchmark is missing: 04_performance stops" in result.stdout
    assert "PROBLEM: prometheus is missing: 06_monitoring skips its Prometheus parts." in result.stdout
    # The server alone runs as its own check-aof and Sentinel, under those names.
    assert re.search(
        r"^  redis-check-aof  \S+/redis-check-aof \(redis-server under this name\)$", result.stdout, re.M
    )
    assert re.search(r"^  a Sentinel runs  \S+/redis-sentinel$", result.stdout, re.M)


def test_doctor_without_redis_says_what_to_install(tmp_path: Path) -> None:
    # An empty PATH and override: nothing to find (the fixed fallback folders are patched out too).
    script = (
        "import sys, pathlib, course.sandbox.binaries as b\n"
        "b.search_dirs = lambda: [pathlib.Path(sys.argv[1])]\n"
        "from course.cli import main\n"
        "sys.exit(main(['doctor']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "REDIS_COURSE_BIN_DIR"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PATH": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 1
    assert "Server     MISSING" in result.stdout
    assert "redis-server (or valkey-server) was not found" in result.stdout
    assert "apt-get install redis-server redis-tools" in result.stdout


def test_clean_removes_leftovers_of_dead_processes() -> None:
    leftover = sandbox_root() / "999999999-dead-kernel"
    leftover.mkdir(parents=True)
    (leftover / OWNER_FILE).write_text(json.dumps({"pid": 999_999_999, "started": 1.0}))
    result = course_cli("clean")
    assert result.returncode == 0
    assert not leftover.exists()
    assert "Removed 1 leftover sandbox directory." in result.stdout
