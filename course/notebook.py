"""Notebook set-up: ``%load_ext course`` registers the ``%%demo`` cell magic and the plot style.

Demonstration cells (long measurements, plots) start with ``%%demo``. They run when a person or
nbval runs the notebook and do nothing when nbgrader grades or validates it (nbgrader sets
``NBGRADER_EXECUTION``), so grading runs only what the tests need.
"""

from __future__ import annotations

import os
from typing import Any

from course.plotting import apply_style
from course.sandbox.servers import RedisServer

GRADING_VARIABLE = "NBGRADER_EXECUTION"


def grading_mode() -> str | None:
    """``"autograde"`` or ``"validate"`` while nbgrader runs the notebook, else ``None``."""
    return os.environ.get(GRADING_VARIABLE) or None


def demos_enabled() -> bool:
    return grading_mode() is None


def demo(line: str, cell: str) -> None:
    """Cell magic: run the cell unless nbgrader is grading or validating."""
    from IPython import get_ipython

    if not demos_enabled():
        return
    shell = get_ipython()
    if cell.rstrip().endswith(";"):
        cell += "\nNone"  # IPython reads a trailing ";" from the outer cell, so silence it here
    result = shell.run_cell(cell, store_history=False)
    if not result.success:
        # The traceback is already on screen; fail the outer cell too so nbval and Run All stop.
        raise DemoFailed("the demonstration above raised an error") from None


class DemoFailed(RuntimeError):
    """A ``%%demo`` cell raised; its own traceback was printed above."""

    def _render_traceback_(self) -> list[str]:
        return [f"DemoFailed: {self}"]


def check_sandbox(server: RedisServer) -> None:
    """Print one line proving the notebook's server is up, local and protected."""
    client = server.client()
    protected = client.config_get("protected-mode")["protected-mode"]
    bind = client.config_get("bind")["bind"]
    assert client.ping(), "the sandbox server does not answer PING"
    binaries = server.binaries
    # Valkey answers INFO with a Redis-compatible redis_version: name the build that really runs.
    print(
        f"Sandbox ready: {binaries.flavour.capitalize()} {binaries.version_text} on {bind} "
        f"(protected-mode {protected}, TLS {'available' if binaries.tls else 'not built in'})"
    )
    client.close()


def load_ipython_extension(shell: Any) -> None:
    shell.register_magic_function(demo, magic_kind="cell", magic_name="demo")
    apply_style()
    shell.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
