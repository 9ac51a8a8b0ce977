"""Headless Chromium driven by Playwright, and what the browser test reads from JupyterLab's page.

:class:`Steps` times each step of a flow and keeps a screenshot at its end; the functions below
read the notebook's code cells as the page shows them and wait for the Formgrader's pages.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.system.browser_lab import Lab

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
UI_MS = 20_000  # generous for a loaded 2-core machine


def chromium_path() -> Path:
    return Path(os.environ.get("COURSE_CHROMIUM") or "/usr/bin/chromium")


def require_browser() -> Any:
    """The Playwright module, or a skip that says what is missing."""
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("playwright is not installed: run ./scripts/test (it installs requirements.txt)")
    if not os.access(chromium_path(), os.X_OK):
        pytest.skip(
            f"chromium not installed ({chromium_path()} not found): run apt-get install chromium "
            "(./scripts/test does it when run as root), or set COURSE_CHROMIUM"
        )
    return sync_api


def browser_processes() -> list[psutil.Process]:
    """Playwright's driver (a child of this test process) and the Chromium it started."""
    found = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if any("playwright" in part for part in child.cmdline()):
                found += [child, *child.children(recursive=True)]
    return found


# --- timings and screenshots ------------------------------------------------------------------
@dataclass
class Steps:
    """Times each step, and keeps a screenshot of the page at its end."""

    folder: Path
    page: Any = None
    done: list[tuple[str, float]] = field(default_factory=list)
    shots: int = 0
    started: float = field(default_factory=time.perf_counter)

    @contextlib.contextmanager
    def step(self, name: str, screenshot: bool = True) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        except BaseException:
            self.done.append((f"{name} FAILED", time.perf_counter() - begin))
            self.shoot(f"FAILED-{name}")
            raise
        self.done.append((name, time.perf_counter() - begin))
        if screenshot:
            self.shoot(name)

    def shoot(self, name: str) -> None:
        if self.page is None:
            return
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(self.folder / f"{self.shots:02d}-{slug}.png"))

    def report(self) -> str:
        width = max((len(name) for name, _ in self.done), default=10)
        lines = [f"{name:<{width}}  {seconds:6.1f} s" for name, seconds in self.done]
        lines.append(f"{'total':<{width}}  {time.perf_counter() - self.started:6.1f} s")
        return "\n".join(lines)


# --- the notebook as the page shows it ------------------------------------------------------------
CELLS_JS = """
cells => cells.map(cell => ({
    input: cell.querySelector('.jp-InputArea-editor')?.textContent ?? '',
    output: cell.querySelector('.jp-OutputArea')?.textContent ?? '',
    prompt: cell.querySelector('.jp-InputPrompt')?.textContent ?? '',
}))
"""


#: IPython's header of an exception's traceback in a cell's output.
TRACEBACK = "Traceback (most recent call last)"


def code_cells(page: Any) -> list[dict[str, str]]:
    cells: list[dict[str, str]] = page.eval_on_selector_all(".jp-Notebook .jp-CodeCell", CELLS_JS)
    return cells


def cell_index(cells: list[dict[str, str]], starts: str) -> int:
    matches = [i for i, cell in enumerate(cells) if cell["input"].startswith(starts)]
    assert matches, f"no code cell starting with {starts!r} in the notebook the lab shows"
    return matches[0]


def wait_until(check: Callable[[], Any], timeout_ms: int, message: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(message())
        time.sleep(0.2)


def follow(frame: Any, link: Any) -> None:
    """Click a link inside the Formgrader's frame and wait for the next page to replace this one."""
    frame.locator("body").evaluate("body => { body.dataset.left = 'yes'; }")
    link.click()
    frame.locator("body:not([data-left])").wait_for(timeout=UI_MS)


def wait_for_table(frame: Any, lab: Lab, what: str) -> Any:
    """The Formgrader page's table once its data has loaded ("Loading, please wait..." is gone)."""
    table = frame.locator("#main-table")

    def loaded() -> bool:
        with contextlib.suppress(Exception):
            text = table.inner_text(timeout=1000)
            return bool(text) and "Loading, please wait" not in text
        return False

    wait_until(
        loaded,
        UI_MS * 2,
        lambda: (
            f"the Formgrader never finished loading {what} (nbgrader's server extension did not "
            f"answer); the server said:\n{lab.output_tail()}"
        ),
    )
    return table
