"""The one log line each mending step writes, and how the class grader reads them back.

Every preprocessor and hook of the course logs what it changed as
``course-grader mended <notebook>: <what>`` at WARNING level, so an instructor sees it in the output
of ``nbgrader autograde`` (or the Formgrader's log) and ``python -m course grade`` turns the same
lines into the reasons of ``grades/report.csv``.
"""

from __future__ import annotations

import logging
import re

MENDED = "course-grader mended"
_MENDED_LINE = re.compile(re.escape(MENDED) + r" (?P<notebook>[^:]+): (?P<what>.+?)\s*$")


def log_mended(log: logging.Logger | logging.LoggerAdapter[logging.Logger], notebook: str, what: str) -> None:
    """Log one mending step on ``notebook`` (a notebook name such as ``pubsub``)."""
    log.warning("%s %s: %s", MENDED, notebook, what)


def mended_steps(log_text: str) -> list[str]:
    """The mending steps found in an nbgrader log, as ``<notebook>: <what>``, first seen first."""
    found: list[str] = []
    for line in log_text.splitlines():
        match = _MENDED_LINE.search(line)
        if match:
            step = f"{match['notebook']}: {match['what']}"
            if step not in found:
                found.append(step)
    return found
