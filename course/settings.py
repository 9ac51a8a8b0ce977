"""Numbers and names the whole course agrees on (nbgrader, nbval, the sandbox and the CLI)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

#: One cell timeout for every executor: nbval in the checks and nbgrader when it grades.
CELL_TIMEOUT_SECONDS = 60

#: Wall-clock budget for grading one submitted notebook (the kernel is killed past it).
SUBMISSION_TIMEOUT_SECONDS = 600

#: Sandbox servers take client ports from this range. It ends below Linux's ephemeral range
#: (32768+) even after adding the cluster bus offset, so outgoing connections never steal them.
PORT_RANGE = range(15000, 22000)
CLUSTER_BUS_OFFSET = 10000

COURSE_ROOT = Path(__file__).resolve().parent.parent

#: A module folder is named like ``01_pubsub``; the name is also its nbgrader assignment id.
MODULE_NAME = re.compile(r"^\d\d_[a-z0-9_]+$")


def modules(root: Path = COURSE_ROOT) -> tuple[str, ...]:
    """The course's modules, in order: folders of ``source/`` (or, in a student bundle, ``release/``)
    that hold at least one notebook."""
    for folder in (root / "source", root / "release"):
        if folder.is_dir():
            return tuple(
                sorted(
                    path.name
                    for path in folder.iterdir()
                    if path.is_dir() and MODULE_NAME.match(path.name) and any(path.glob("*.ipynb"))
                )
            )
    return ()


def sandbox_root() -> Path:
    """Directory holding every sandbox server's private directory and the port locks.

    ``REDIS_COURSE_SANDBOX`` overrides it (tests use this to isolate themselves).
    """
    override = os.environ.get("REDIS_COURSE_SANDBOX")
    if override:
        return Path(override).resolve()
    return Path(tempfile.gettempdir()) / f"redis-course-{os.getuid()}"


def port_range() -> range:
    """Ports sandbox servers may use; ``REDIS_COURSE_PORTS=FIRST-LAST`` narrows or moves it."""
    override = os.environ.get("REDIS_COURSE_PORTS")
    if not override:
        return PORT_RANGE
    try:
        first, last = (int(part) for part in override.split("-"))
    except ValueError:
        raise ValueError(f"REDIS_COURSE_PORTS must look like 15000-15999, not {override!r}") from None
    if not 1024 <= first <= last <= 65535:
        raise ValueError(f"REDIS_COURSE_PORTS={override!r} is not a range of ports within 1024-65535")
    return range(first, last + 1)
