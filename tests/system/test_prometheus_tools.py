"""`doctor` reports the monitoring tools; `%%needs_prometheus` runs a cell only where they are."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.kernel import Kernel
from tests.system.without_tools import HIDE_MONITORING_TOOLS


def doctor(prelude: str = "") -> subprocess.CompletedProcess[str]:
    script = f"{prelude}\nimport sys\nfrom course.cli import main\nsys.exit(main(['doctor']))\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
        check=False,
    )


def test_doctor_reports_the_monitoring_tools_with_versions() -> None:
    result = doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("prometheus", "promtool", "redis_exporter"):
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name + " "))
        assert "MISSING" not in line
        assert any(char.isdigit() for char in line), f"{name}: a version: {line!r}"


def test_doctor_without_them_says_what_to_install_and_still_passes() -> None:
    result = doctor(HIDE_MONITORING_TOOLS)
    assert result.returncode == 0, "missing monitoring tools only gate 06_monitoring"
    assert "prometheus       MISSING" in result.stdout
    assert "redis_exporter   MISSING" in result.stdout
    assert "PROBLEM: redis_exporter is missing: 06_monitoring skips its Prometheus parts." in result.stdout
    assert "sudo apt-get install prometheus-redis-exporter" in result.stdout


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    with Kernel() as started:
        ok, text = started.run("%load_ext course\n%load_ext course.lessons.monitoring_prometheus")
        assert ok, text
        yield started


def test_a_cell_runs_where_the_tools_are(kernel: Kernel) -> None:
    ok, text = kernel.run("%%needs_prometheus\nshown = 41\nprint('ran')\nshown + 1")
    assert ok, text
    assert "ran" in text
    assert "42" in text


def test_a_failing_cell_fails(kernel: Kernel) -> None:
    ok, text = kernel.run("%%needs_prometheus\n1 / 0")
    assert not ok
    assert "ZeroDivisionError" in text or "DemoFailed" in text


def test_without_the_tools_the_cell_is_skipped_with_the_install_hint_once() -> None:
    with Kernel() as bare:
        ok, text = bare.run(f"{HIDE_MONITORING_TOOLS}\n%load_ext course.lessons.monitoring_prometheus")
        assert ok, text
        ok, first = bare.run("%%needs_prometheus\nraise SystemExit('must not run')")
        assert ok, first
        ok, second = bare.run("%%needs_prometheus\nraise SystemExit('must not run')")
        assert ok, second
    assert first.startswith("Skipped: this cell needs prometheus, promtool, redis_exporter, which")
    assert "sudo apt-get install prometheus" in first
    assert (
        second.strip()
        == "Skipped: this cell needs prometheus, promtool, redis_exporter (see the install hint above)."
    )
