"""Reading the limits around a server for the performance lesson: kernel settings, descriptors, backlog.

Every reader works on Linux (``/proc``, ``/sys``, ``ss``) and says plainly what is missing
elsewhere instead of failing. Replies and tables are read by field or column name:

* :func:`kernel_setting` - one value under ``/proc`` or ``/sys``;
* :func:`process_status` - one field of ``/proc/<pid>/status`` (``THP_enabled``, ...);
* :func:`open_files_limit` - the soft and hard "Max open files" of ``/proc/<pid>/limits``;
* :func:`listen_backlog` - a listening socket's effective backlog, from ``ss -ltn``;
* :func:`parse_latency_latest` - ``LATENCY LATEST`` with its first four fields named (newer
  servers append more).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NOT_AVAILABLE = "(not available on this system)"

#: The fields of one ``LATENCY LATEST`` event that every supported server sends, in order.
LATENCY_FIELDS = ("event", "unix time", "latest (ms)", "all-time max (ms)")


def kernel_setting(path: str | Path) -> str:
    """The stripped content of a kernel file such as ``/proc/sys/vm/overcommit_memory``."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return NOT_AVAILABLE


def process_status(pid: int | None, field: str) -> str:
    """One field of ``/proc/<pid>/status`` (for example ``THP_enabled``)."""
    for line in kernel_setting(f"/proc/{pid}/status").splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return value.strip()
    return NOT_AVAILABLE


def parse_limits(text: str, limit: str = "Max open files") -> dict[str, str] | None:
    """``{"soft": ..., "hard": ...}`` for one row of a ``/proc/<pid>/limits`` text.

    The file is a fixed-width table: values are cut at the positions of the header's column names.
    """
    lines = text.splitlines()
    if len(lines) < 2 or "Soft Limit" not in lines[0]:
        return None
    header = lines[0]
    soft, hard, units = header.index("Soft Limit"), header.index("Hard Limit"), header.index("Units")
    for row in lines[1:]:
        if row.startswith(limit):
            return {"soft": row[soft:hard].strip(), "hard": row[hard:units].strip()}
    return None


def open_files_limit(pid: int | None) -> dict[str, str] | None:
    """The descriptor limits of a running process, or ``None`` where ``/proc`` is missing."""
    return parse_limits(kernel_setting(f"/proc/{pid}/limits"))


def parse_listen_backlog(ss_output: str) -> int | None:
    """``Send-Q`` of the first socket in ``ss -ltn`` output: the backlog of a listening socket."""
    lines = [line for line in ss_output.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    column = lines[0].split().index("Send-Q")
    return int(lines[1].split()[column])


def listen_backlog(port: int) -> int | str:
    """The effective backlog of the socket listening on ``port``, or why it cannot be read."""
    try:
        output = subprocess.run(
            ["ss", "-ltn", f"sport = :{port}"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "(ss is not available)"
    backlog = parse_listen_backlog(output)
    return "(no listening socket)" if backlog is None else backlog


def parse_latency_latest(reply: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``LATENCY LATEST`` as one dict per event with :data:`LATENCY_FIELDS`; later fields dropped."""
    return [dict(zip(LATENCY_FIELDS, event, strict=False)) for event in reply]
