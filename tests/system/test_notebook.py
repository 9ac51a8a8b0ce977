"""The %%demo magic runs demonstrations for people and skips them when nbgrader grades."""

from __future__ import annotations

import pytest

from tests.kernel import Kernel


@pytest.fixture(scope="module")
def kernel() -> Kernel:
    with Kernel() as started:
        ok, text = started.run("%load_ext course")
        assert ok, text
        yield started  # type: ignore[misc]


def test_demo_cells_run_and_show_their_last_value(kernel: Kernel) -> None:
    ok, text = kernel.run("%%demo\nx = 41\nprint('ran')\nx + 1")
    assert ok
    assert "ran" in text
    ok, text = kernel.run("print(x)")
    assert (ok, text.strip()) == (True, "41")


def test_a_trailing_semicolon_silences_a_demo_cell(kernel: Kernel) -> None:
    ok, text = kernel.run("%%demo\n'shown'")
    assert ok
    assert "shown" in text
    ok, text = kernel.run("%%demo\n'hidden';")
    assert ok
    assert "hidden" not in text


def test_a_failing_demo_fails_its_cell(kernel: Kernel) -> None:
    ok, text = kernel.run("%%demo\n1 / 0")
    assert not ok
    assert "ZeroDivisionError" in text or "DemoFailed" in text


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_demo_cells_are_skipped_when_nbgrader_runs_the_notebook(mode: str) -> None:
    with Kernel(env={"NBGRADER_EXECUTION": mode}) as grading:
        ok, text = grading.run("%load_ext course\n")
        assert ok, text
        ok, text = grading.run("%%demo\nraise SystemExit('must not run')")
        assert ok
        assert text == ""
        ok, text = grading.run("from course.notebook import grading_mode; print(grading_mode())")
        assert text.strip() == mode


def test_check_sandbox_reports_a_protected_loopback_server(kernel: Kernel) -> None:
    ok, text = kernel.run(
        "from course import start_server\nfrom course.notebook import check_sandbox\n"
        "s = start_server()\ncheck_sandbox(s)\ns.close()"
    )
    assert ok, text
    assert "Sandbox ready: Redis 7." in text
    assert "on 127.0.0.1 (protected-mode yes" in text
