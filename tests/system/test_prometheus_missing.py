"""Without Prometheus, promtool and redis_exporter, 06_monitoring still runs for a student: the
Python-only parts run, the Prometheus parts say what to install, and no cell shows a traceback."""

from __future__ import annotations

import re

import nbformat
import pytest

from course.settings import COURSE_ROOT
from tests.kernel import Kernel
from tests.system.without_tools import HIDE_MONITORING_TOOLS

NOTEBOOK = COURSE_ROOT / "source" / "06_monitoring" / "monitoring.ipynb"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)


def student_cells() -> list[tuple[str, str]]:
    """(id, source) of each code cell as a student with correct solutions runs it: no hidden tests."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return [(cell.id, HIDDEN.sub("", cell.source)) for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.slow
def test_the_notebook_runs_without_the_monitoring_tools() -> None:
    outputs: dict[str, str] = {}
    with Kernel(cwd=str(NOTEBOOK.parent)) as kernel:
        ok, text = kernel.run(HIDE_MONITORING_TOOLS)
        assert ok, text
        for cell_id, source in student_cells():
            ok, text = kernel.run(source, timeout=120)
            assert ok, f"{cell_id} failed without the monitoring tools:\n{text}"
            assert "Traceback" not in text, f"{cell_id} shows a traceback:\n{text}"
            outputs[cell_id] = text
    assert "missing prometheus, promtool, redis_exporter" in outputs["setup"]
    gated = "%%demo\n%%needs_prometheus"
    skipped = [cell_id for cell_id, source in student_cells() if source.startswith(gated)]
    assert len(skipped) >= 10
    for cell_id in skipped:
        assert outputs[cell_id].startswith("Skipped: this cell needs prometheus, promtool, redis_exporter"), (
            cell_id
        )
    hints = "".join(outputs[cell_id] for cell_id in skipped)
    assert hints.count("sudo apt-get install prometheus\n") == 1, "the install hint is shown once, in full"
    assert "sudo apt-get install prometheus-redis-exporter" in hints
    assert "promtool is not installed" in outputs["part-c-tests"]
    assert "Part C: visible tests passed." in outputs["part-c-tests"]
    for python_only in ("derived", "cli-tools", "monitor-cost", "errorstats-trap", "figures"):
        assert outputs[python_only].strip(), f"{python_only} ran and showed its result"
