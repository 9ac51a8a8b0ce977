"""Helpers for the persistence lesson: AOF manifests, background saves, file sizes, load times.

* :func:`read_manifest` - the entries of a Redis 7 AOF manifest (base, history and incremental files).
* :func:`aof_dir` / :func:`manifest_path` - where a sandbox server keeps its multi-part AOF.
* :func:`wait_for_background_saves` - poll ``INFO persistence`` until no BGSAVE or BGREWRITEAOF
  is running or scheduled.
* :func:`persistence_files` - sizes of a server's RDB file and AOF files.
* :func:`load_seconds` - how long the last start spent loading data, as the server logged it.
* :func:`fill` - write seeded keys fast (pipelined), with compressible or random values.
* :func:`chop` - cut bytes off the end of a file, as a crash in the middle of a write leaves it.
* :func:`filesystem_of` - the type of filesystem a directory is on (``tmpfs`` makes fsync nearly free).
* :func:`fsync_seconds` - how long appending to a file and flushing it to the device takes there.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from course.sandbox.servers import RedisServer

#: What ``save`` means in Redis 7 when a configuration file has no ``save`` line at all.
DEFAULT_SAVE_POINTS: tuple[tuple[int, int], ...] = ((3600, 1), (300, 100), (60, 10000))

DEFAULT_AOF_DIR = "appendonlydir"
DEFAULT_AOF_NAME = "appendonly.aof"
DEFAULT_RDB_NAME = "dump.rdb"

MANIFEST_TYPES = {"b": "base", "h": "history", "i": "incr"}

#: The log line a start ends with once data is loaded (RDB, or the AOF's total for all its parts).
_LOADED = re.compile(r"DB loaded from (?:disk|append only file): (\d+(?:\.\d+)?) seconds")
_START_MARKER = "--- sandbox: starting redis-server"


@dataclass(frozen=True)
class ManifestEntry:
    """One line of an AOF manifest: ``file <name> seq <n> type <b|h|i>``."""

    name: str
    seq: int
    type: str

    @property
    def kind(self) -> str:
        """``base``, ``history`` (kept only while Redis has not deleted it yet) or ``incr``."""
        return MANIFEST_TYPES.get(self.type, self.type)


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Entries of an AOF manifest, in file order; ``path`` is the manifest or its directory."""
    path = Path(path)
    if path.is_dir():
        manifests = sorted(path.glob("*.manifest"))
        if len(manifests) != 1:
            raise FileNotFoundError(f"expected one *.manifest in {path}, found {len(manifests)}")
        path = manifests[0]
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        words = shlex.split(line)  # names with spaces are quoted, as Redis's own parser expects
        if len(words) % 2:
            raise ValueError(f"{path.name}, line {number}: not key/value pairs: {line!r}")
        fields = dict(zip(words[::2], words[1::2], strict=True))
        try:
            entries.append(ManifestEntry(name=fields["file"], seq=int(fields["seq"]), type=fields["type"]))
        except (KeyError, ValueError) as error:
            raise ValueError(f"{path.name}, line {number}: {line!r} ({error})") from None
    return entries


def _config_name(server: RedisServer, directive: str, default: str) -> str:
    value = server.config.get(directive, default)
    return str(value).strip("\"'") or default


def aof_dir(server: RedisServer) -> Path:
    """The directory holding ``server``'s AOF (``appenddirname``, default ``appendonlydir``)."""
    return server.dir / _config_name(server, "appenddirname", DEFAULT_AOF_DIR)


def manifest_path(server: RedisServer) -> Path:
    """``<appenddirname>/<appendfilename>.manifest`` of ``server``."""
    return aof_dir(server) / f"{_config_name(server, 'appendfilename', DEFAULT_AOF_NAME)}.manifest"


def rdb_path(server: RedisServer) -> Path:
    """``server``'s snapshot file (``dbfilename``, default ``dump.rdb``)."""
    return server.dir / _config_name(server, "dbfilename", DEFAULT_RDB_NAME)


BACKGROUND_FLAGS = ("rdb_bgsave_in_progress", "aof_rewrite_in_progress", "aof_rewrite_scheduled")


def wait_for_background_saves(
    client: redis.Redis, timeout: float = 30.0, interval: float = 0.01
) -> dict[str, Any]:
    """Wait until no BGSAVE or AOF rewrite runs or is scheduled; return ``INFO persistence``.

    Raises :class:`TimeoutError` if one is still running after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        info: dict[str, Any] = client.info("persistence")
        busy = [flag for flag in BACKGROUND_FLAGS if int(info.get(flag, 0))]
        if not busy:
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"still busy after {timeout} s: {', '.join(busy)}")
        time.sleep(interval)


def persistence_files(server: RedisServer) -> dict[str, int]:
    """Sizes in bytes of ``server``'s RDB file and of every file in its AOF directory.

    Keys are paths relative to the server's directory (``dump.rdb``,
    ``appendonlydir/appendonly.aof.1.incr.aof``); files that do not exist are left out.
    """
    sizes: dict[str, int] = {}
    rdb = rdb_path(server)
    if rdb.is_file():
        sizes[rdb.name] = rdb.stat().st_size
    directory = aof_dir(server)
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.is_file():
                sizes[f"{directory.name}/{path.name}"] = path.stat().st_size
    return sizes


def load_seconds(server: RedisServer) -> float | None:
    """Seconds the server's latest start spent loading its data (from its log), or ``None``.

    Redis logs ``DB loaded from disk: X seconds`` for an RDB file and ``DB loaded from append
    only file: X seconds`` for all parts of an AOF together; nothing if there was nothing to load.
    """
    try:
        text = server.log_path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    latest_start = text.rsplit(_START_MARKER, 1)[-1]
    found = _LOADED.findall(latest_start)
    return float(found[-1]) if found else None


def values(count: int, size: int, *, compressible: bool, seed: int = 0) -> list[bytes]:
    """``count`` values of ``size`` bytes: a repeated pattern, or seeded random bytes."""
    if compressible:
        pattern = b"redis-persistence-"
        return [(pattern * (size // len(pattern) + 1))[:size] for _ in range(count)]
    rng = random.Random(seed)
    return [rng.randbytes(size) for _ in range(count)]


def fill(
    client: redis.Redis,
    count: int,
    *,
    prefix: str = "key:",
    value_size: int = 100,
    compressible: bool = False,
    seed: int = 0,
    batch: int = 1000,
) -> int:
    """SET ``count`` keys ``<prefix><n>`` in pipelined batches (one SET per key); return ``count``."""
    data = values(count, value_size, compressible=compressible, seed=seed)
    pipe = client.pipeline(transaction=False)
    for start in range(0, count, batch):
        for n in range(start, min(start + batch, count)):
            pipe.set(f"{prefix}{n}", data[n])
        pipe.execute()
    return count


def chop(path: Path, nbytes: int) -> int:
    """Remove the last ``nbytes`` bytes of ``path`` (a torn write); return the new size."""
    size = path.stat().st_size
    if not 0 < nbytes <= size:
        raise ValueError(f"cannot cut {nbytes} bytes from a {size}-byte file")
    with path.open("r+b") as file:
        file.truncate(size - nbytes)
    return size - nbytes


MOUNTS = Path("/proc/self/mounts")


def _unescape_mount_field(field: str) -> str:
    # /proc/self/mounts writes spaces, tabs, newlines and backslashes in paths as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def filesystem_from_mounts(path: Path, mounts_text: str) -> str:
    """The filesystem type of the mount (from a ``/proc/mounts`` text) that holds ``path``."""
    target = str(Path(path))
    best, found = -1, "unknown"
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point, kind = _unescape_mount_field(fields[1]), fields[2]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= best:  # the deepest mount wins; a later one covers an earlier
            best, found = len(mount_point), kind
    return found


def filesystem_of(path: Path) -> str:
    """``"ext4"``, ``"tmpfs"``, ... for the directory ``path`` (Linux), or ``"unknown"`` elsewhere."""
    try:
        mounts = MOUNTS.read_text()
    except OSError:
        return "unknown"
    return filesystem_from_mounts(Path(path).resolve(), mounts)


def fsync_seconds(directory: Path, count: int = 50, size: int = 64) -> list[float]:
    """Seconds each of ``count`` appends of ``size`` bytes plus a flush to the device took in ``directory``.

    Flushes with ``fdatasync`` where it exists (Linux; what ``appendfsync`` uses there), else ``fsync``.
    The scratch file is removed afterwards.
    """
    flush = getattr(os, "fdatasync", os.fsync)
    scratch = Path(directory) / f".fsync-probe-{os.getpid()}"
    times = []
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(descriptor, b"x" * size)
            flush(descriptor)
            times.append(time.perf_counter() - started)
    finally:
        os.close(descriptor)
        scratch.unlink(missing_ok=True)
    return times
