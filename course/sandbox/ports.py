"""Claim free loopback ports so that servers started at the same moment never collide.

A claim is an exclusive ``flock`` on ``<sandbox>/ports/<port>.lock`` held by this process plus a
successful test bind. The kernel drops the lock when the process dies, so a crash never leaves a
port reserved forever, and a port someone else bound (another program, a student) is skipped.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.settings import port_range, sandbox_root

LOOPBACK = "127.0.0.1"


class NoFreePortError(RuntimeError):
    """Every port tried was taken."""


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


@dataclass
class PortClaim:
    """Ports reserved for one server: the main one plus any at fixed offsets (cluster bus, TLS)."""

    port: int
    extra: dict[int, int] = field(default_factory=dict)
    _locks: list[int] = field(default_factory=list, repr=False)

    def release(self) -> None:
        """Drop the locks (idempotent)."""
        while self._locks:
            fd = self._locks.pop()
            with contextlib.suppress(OSError):
                os.close(fd)


def _lock(port: int, lock_dir: Path) -> int | None:
    fd = os.open(lock_dir / f"{port}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def claim_port(offsets: Iterable[int] = (), *, attempts: int = 200) -> PortClaim:
    """Reserve a free port, and the ports at ``port + offset`` for each offset, for this process."""
    offsets = tuple(offsets)
    lock_dir = sandbox_root() / "ports"
    lock_dir.mkdir(parents=True, exist_ok=True)
    ports = port_range()
    rng = random.SystemRandom()
    for port in rng.sample(ports, min(len(ports), attempts)):
        wanted = [port, *(port + offset for offset in offsets)]
        locks: list[int] = []
        for candidate in wanted:
            fd = _lock(candidate, lock_dir)
            if fd is None or not _bindable(candidate):
                if fd is not None:
                    os.close(fd)
                break
            locks.append(fd)
        else:
            return PortClaim(port, {offset: port + offset for offset in offsets}, locks)
        for fd in locks:
            os.close(fd)
    raise NoFreePortError(
        f"No free port found in {ports.start}-{ports.stop - 1} "
        "(set REDIS_COURSE_PORTS=FIRST-LAST to use other ports)."
    )
