"""What the course needs from the machine, where it looks, and how to install what is missing.

One copy of these facts serves ``course doctor``, the lessons' error messages and the shell
set-up (``scripts/bootstrap`` asks ``python -m course setup`` instead of keeping its own list)::

    python -m course setup apt-packages   # Debian packages for what is missing
    python -m course setup check          # exit 1 with install hints if Redis is missing
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Oldest server the course runs on; lessons that need newer features gate themselves.
MIN_REDIS_VERSION = (7, 0, 0)

#: Points the course at a directory holding redis-server (or valkey-server) and friends.
BIN_DIR_VARIABLE = "REDIS_COURSE_BIN_DIR"

#: Where binaries are looked for after the override and the active conda environment.
EXTRA_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin")


@dataclass(frozen=True)
class Program:
    """A program a lesson runs: its names (first found wins) and where to get it."""

    names: tuple[str, ...]
    apt: str | None
    brew: str | None
    conda: str | None
    needed_by: str

    def hint(self) -> str:
        ways = []
        if self.conda:
            ways.append(f"  conda (any OS):   conda install -c conda-forge {self.conda}")
        if self.apt:
            ways.append(f"  Debian/Ubuntu:    sudo apt-get install {self.apt}")
        if self.brew:
            ways.append(f"  macOS (Homebrew): brew install {self.brew}")
        return f"{' or '.join(self.names)} is needed by {self.needed_by}. Install it:\n" + "\n".join(ways)


PROGRAMS: dict[str, Program] = {
    "redis-server": Program(
        ("redis-server", "valkey-server"), "redis-server", "redis", "redis-server", "every lesson"
    ),
    "redis-cli": Program(("redis-cli", "valkey-cli"), "redis-tools", "redis", "redis-server", "every lesson"),
    "redis-benchmark": Program(
        ("redis-benchmark", "valkey-benchmark"), "redis-tools", "redis", "redis-server", "04_performance"
    ),
    "redis-check-aof": Program(
        ("redis-check-aof", "valkey-check-aof"), "redis-tools", "redis", "redis-server", "03_persistence"
    ),
    "redis-sentinel": Program(
        ("redis-sentinel", "valkey-sentinel"), "redis-sentinel", "redis", "redis-server", "02 replication"
    ),
    "prometheus": Program(("prometheus",), "prometheus", "prometheus", "prometheus", "06_monitoring"),
    "promtool": Program(("promtool",), "prometheus", "prometheus", "prometheus", "06_monitoring"),
    "redis_exporter": Program(
        ("prometheus-redis-exporter", "redis_exporter"),
        "prometheus-redis-exporter",
        "redis_exporter",
        None,
        "06_monitoring",
    ),
}

#: Without these no lesson runs; the others only gate the lessons that use them.
REQUIRED = ("redis-server", "redis-cli")

REDIS_HINT = (
    "Install Redis 7 or newer (or Valkey 8 or newer), then run the command again:\n"
    "  conda (any OS):   conda install -c conda-forge redis-server\n"
    "  Debian/Ubuntu:    sudo apt-get install redis-server redis-tools redis-sentinel\n"
    "  Fedora/Arch:      sudo dnf install valkey   /   sudo pacman -S valkey\n"
    "  macOS (Homebrew): brew install redis\n"
    f"or point {BIN_DIR_VARIABLE} at a directory that holds redis-server (or valkey-server) and its tools."
)


def search_dirs() -> list[Path]:
    """The override variable, the active conda environment, PATH, then the usual system places."""
    dirs: list[Path] = []
    override = os.environ.get(BIN_DIR_VARIABLE)
    if override:
        dirs.append(Path(override))
    conda = os.environ.get("CONDA_PREFIX")
    if conda:
        dirs.append(Path(conda) / "bin")
    dirs.extend(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    dirs.extend(Path(p) for p in EXTRA_DIRS)
    return dirs


def which(names: Sequence[str], dirs: Sequence[Path] | None = None) -> Path | None:
    """The first of ``names`` found in ``dirs`` (each directory tried for every name in turn)."""
    for directory in search_dirs() if dirs is None else dirs:
        for name in names:
            found = shutil.which(name, path=str(directory))
            if found:
                return Path(found)
    return None


def missing(programs: Sequence[str] = tuple(PROGRAMS)) -> list[str]:
    """Logical names of the programs that are not found."""
    return [name for name in programs if which(PROGRAMS[name].names) is None]


def apt_packages(programs: Sequence[str] = tuple(PROGRAMS)) -> list[str]:
    """Debian packages that would provide the missing programs, each once."""
    packages = [PROGRAMS[name].apt for name in missing(programs)]
    return list(dict.fromkeys(p for p in packages if p))


def setup(command: str) -> int:
    """``apt-packages``: print what apt-get would install; ``check``: is Redis usable?"""
    if command == "apt-packages":
        print(" ".join(apt_packages()))
        return 0
    from course.sandbox.binaries import RedisNotFoundError, find_redis

    try:
        binaries = find_redis()
    except RedisNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"found {binaries.describe()}")
    for name in missing():
        if name not in REQUIRED:
            print(f"optional: {PROGRAMS[name].hint()}", file=sys.stderr)
    return 0
