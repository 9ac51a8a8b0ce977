"""Find the Redis binaries the course runs, check their version and TLS support."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from course.settings import MIN_REDIS_VERSION

#: Points the course at a directory holding redis-server and friends (overrides PATH).
BIN_DIR_VARIABLE = "REDIS_COURSE_BIN_DIR"

TOOLS = ("redis-server", "redis-cli", "redis-benchmark", "redis-check-aof")

INSTALL_HINT = """\
Install Redis 7 or newer, then run the command again:
  conda (any OS):   conda install -c conda-forge redis-server
  Debian/Ubuntu:    sudo apt-get install redis-server redis-tools
  macOS (Homebrew): brew install redis
or point REDIS_COURSE_BIN_DIR at a directory that holds redis-server, redis-cli,
redis-benchmark and redis-check-aof."""


class RedisNotFoundError(RuntimeError):
    """A Redis binary the course needs is missing or too old."""


@dataclass(frozen=True)
class RedisBinaries:
    """Absolute paths of the Redis tools found, the server's version and whether it speaks TLS."""

    server: Path
    version: tuple[int, int, int]
    tls: bool
    tools: dict[str, Path] = field(default_factory=dict)

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def tool(self, name: str) -> Path:
        """Path of ``redis-cli``, ``redis-benchmark`` or ``redis-check-aof``, or a clear error."""
        try:
            return self.tools[name]
        except KeyError:
            raise RedisNotFoundError(f"{name} was not found next to {self.server}.\n{INSTALL_HINT}") from None

    def require(self, version: tuple[int, int, int], feature: str) -> None:
        """Stop a lesson that needs a newer Redis with a message saying which and why."""
        if self.version < version:
            wanted = ".".join(map(str, version))
            raise RedisNotFoundError(
                f"{feature} needs Redis {wanted} or newer; this machine has {self.version_text} "
                f"({self.server}).\n{INSTALL_HINT}"
            )


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    override = os.environ.get(BIN_DIR_VARIABLE)
    if override:
        dirs.append(Path(override))
    conda = os.environ.get("CONDA_PREFIX")
    if conda:
        dirs.append(Path(conda) / "bin")
    dirs.extend(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    # Debian installs redis-check-aof as a link in /usr/bin, but some images keep sbin off PATH.
    dirs.extend([Path("/usr/bin"), Path("/usr/local/bin"), Path("/opt/homebrew/bin")])
    return dirs


def _which(name: str, dirs: list[Path]) -> Path | None:
    for directory in dirs:
        found = shutil.which(name, path=str(directory))
        if found:
            return Path(found)
    return None


def parse_version(text: str) -> tuple[int, int, int]:
    """``Redis server v=7.0.15 sha=...`` -> ``(7, 0, 15)``."""
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise RedisNotFoundError(f"Cannot read a version from {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _supports_tls(server: Path) -> bool:
    # A build without TLS rejects the tls-port directive; a TLS build starts, finds no listener
    # (port 0 everywhere) and exits at once.
    result = subprocess.run(
        [str(server), "--port", "0", "--tls-port", "0", "--save", "", "--appendonly", "no"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return "Bad directive" not in (result.stdout + result.stderr)


@cache
def find_redis() -> RedisBinaries:
    """Locate redis-server (override variable, conda, PATH) and check it is new enough."""
    dirs = _search_dirs()
    server = _which("redis-server", dirs)
    if server is None:
        raise RedisNotFoundError(f"redis-server was not found.\n{INSTALL_HINT}")
    output = subprocess.run(
        [str(server), "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    version = parse_version(output)
    if version < MIN_REDIS_VERSION:
        wanted = ".".join(map(str, MIN_REDIS_VERSION))
        raise RedisNotFoundError(
            f"{server} is Redis {'.'.join(map(str, version))}; the course needs {wanted} or newer.\n"
            f"{INSTALL_HINT}"
        )
    # Prefer tools that sit beside the server so versions match.
    tool_dirs = [server.parent, *dirs]
    tools = {name: path for name in TOOLS[1:] if (path := _which(name, tool_dirs)) is not None}
    return RedisBinaries(server=server, version=version, tls=_supports_tls(server), tools=tools)
