"""Automated backups for the security lesson's production section: fetch, verify, keep the last N.

* :func:`fetch_rdb` - a fresh snapshot of a running server, streamed over the network with
  ``redis-cli --rdb`` (the server forks as for BGSAVE and sends the RDB like a full sync to a
  replica), written atomically: a backup file is complete or absent.
* :func:`verify_backup` - load a backup into a throwaway sandbox server and count its keys.
* :class:`BackupSchedule` - a background thread that takes a verified backup every ``every``
  seconds, names them ``backup-<n>.rdb`` (n counts up) and deletes all but the newest ``keep``.

A server answers ``redis-cli --rdb`` only after ``repl-diskless-sync-delay`` (default 5 s): give
servers you back up this way ``repl-diskless-sync-delay 0``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from course.sandbox.lifecycle import Managed
from course.sandbox.servers import RedisServer

BACKUP_PREFIX = "backup-"
BACKUP_SUFFIX = ".rdb"


class BackupError(RuntimeError):
    """A backup could not be fetched or does not load."""


def fetch_rdb(
    server: RedisServer,
    target: Path,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 60,
) -> Path:
    """Stream a new RDB snapshot of ``server`` into ``target``; return its absolute path.

    The password travels in ``REDISCLI_AUTH``, never on the command line (where ``ps`` shows it).
    The file is written next to ``target`` under a temporary name and renamed when complete.
    """
    target = Path(target).resolve()
    partial = target.with_name(f".{target.name}.partial")
    command = [str(server.binaries.tool("redis-cli")), "-h", server.host, "-p", str(server.port)]
    if username:
        command += ["--user", username]
    command += ["--rdb", str(partial)]
    env = {**os.environ, "REDISCLI_AUTH": password} if password else None
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise BackupError(f"redis-cli --rdb failed:\n{result.stdout}{result.stderr}")
    partial.replace(target)
    return target


def verify_backup(path: Path, *, server_like: RedisServer | None = None) -> int:
    """Load ``path`` into a throwaway sandbox server; return how many keys it holds.

    Raises :class:`BackupError` if the file does not load. ``server_like`` picks the binaries.
    """
    binaries = server_like.binaries if server_like is not None else None
    check = RedisServer(name="verify-backup", binaries=binaries)  # default dbfilename: dump.rdb
    try:
        shutil.copyfile(path, check.dir / "dump.rdb")
        try:
            check.start()
        except RuntimeError as error:
            raise BackupError(f"{Path(path).name} does not load:\n{error}") from None
        return int(check.client().dbsize())
    finally:
        check.close()


@dataclass(frozen=True)
class Backup:
    """One verified backup: its file, sequence number, when it was taken, and what it held."""

    path: Path
    number: int
    taken_at: float  # time.time() when the snapshot was requested
    keys: int  # counted by loading the file into a throwaway server
    fetch_seconds: float
    verify_seconds: float


class BackupSchedule(Managed):
    """Every ``every`` seconds, fetch a snapshot of ``server``, verify it, keep the newest ``keep``.

    ``take()`` runs one backup now (the thread calls it too); ``backups`` lists those kept, oldest
    first; ``errors`` collects failures of scheduled runs (a failed backup never replaces a good one).
    """

    def __init__(
        self,
        server: RedisServer,
        directory: Path,
        *,
        every: float = 1.0,
        keep: int = 3,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError("keep at least one backup")
        self.server = server
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every = every
        self.keep = keep
        self._credentials = (username, password)
        self._backups: list[Backup] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backup-schedule", daemon=True)
        self._next_number = 1

    @property
    def backups(self) -> list[Backup]:
        with self._lock:
            return list(self._backups)

    def take(self) -> Backup:
        """Fetch, verify and record one backup now; prune the oldest beyond ``keep``."""
        with self._lock:
            number = self._next_number
            self._next_number += 1
        target = self.directory / f"{BACKUP_PREFIX}{number}{BACKUP_SUFFIX}"
        username, password = self._credentials
        taken_at = time.time()
        started = time.perf_counter()
        fetch_rdb(self.server, target, username=username, password=password)
        fetched = time.perf_counter()
        try:
            keys = verify_backup(target, server_like=self.server)
        except BackupError:
            target.unlink(missing_ok=True)
            raise
        backup = Backup(target, number, taken_at, keys, fetched - started, time.perf_counter() - fetched)
        with self._lock:
            self._backups.append(backup)
            self._backups.sort(key=lambda b: b.number)
            while len(self._backups) > self.keep:
                self._backups.pop(0).path.unlink(missing_ok=True)
        return backup

    def start(self) -> Self:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.take()
            except (BackupError, RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                self.errors.append(str(error))

    def close(self) -> None:
        """Stop the schedule; a backup in progress finishes first. Files stay in ``directory``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
