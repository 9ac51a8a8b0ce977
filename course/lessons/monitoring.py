"""What a Redis server reports about itself, as pandas: INFO, latency, SLOWLOG, CLIENT LIST, redis-cli.

* :func:`parse_info` / :func:`info_frame` - every ``INFO`` section (including ``commandstats``,
  ``latencystats`` and ``errorstats``, which plain ``INFO`` leaves out) with section names kept;
* :func:`commandstats`, :func:`latencystats`, :func:`errorstats` - those three as tables;
* :func:`latency_latest`, :func:`latency_history`, :func:`latency_histogram` - the latency
  monitor's replies, whose shapes differ between servers and protocols, as tables;
* :func:`slowlog`, :func:`client_list` - the slow log and the connections;
* :func:`run_cli` - a ``redis-cli`` mode that runs until stopped (``--stat``, ``--latency-history``),
  run for a bounded time on a pseudo-terminal so that its lines arrive as it prints them;
* :data:`EXPORTER_FIELDS` / :func:`parse_metrics` - redis_exporter's metric names and their INFO fields.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import redis

from course.sandbox.servers import RedisServer

InfoValue = int | float | str | dict[str, int | float | str]


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _value(text: str) -> InfoValue:
    # "calls=2,usec=3,usec_per_call=1.50" is a nested record; "1.2.3" or "a,b" is not.
    if "=" in text and all("=" in part for part in text.split(",")):
        return {key: _number(value) for key, value in (part.split("=", 1) for part in text.split(","))}
    return _number(text)


def parse_info(text: str) -> dict[str, dict[str, InfoValue]]:
    """The raw text of ``INFO`` as ``{section: {field: value}}``, section names lower-cased.

    Numbers become ``int`` or ``float``; ``a=1,b=2`` values become dicts (``cmdstat_get``,
    ``db0``, ``slave0``, ``errorstat_ERR``, ``latency_percentiles_usec_get``).
    """
    sections: dict[str, dict[str, InfoValue]] = {}
    current = sections.setdefault("", {})
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            current = sections.setdefault(line.lstrip("# ").lower(), {})
        elif ":" in line:
            field, value = line.split(":", 1)
            current[field] = _value(value)
    if not sections[""]:
        del sections[""]
    return sections


def info_text(client: redis.Redis, section: str = "default") -> str:
    """The raw reply of ``INFO <section>``, section headers included (redis-py's ``info()`` drops them)."""
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_command("INFO", section)
        reply = connection.read_response()
    finally:
        pool.release(connection)
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def info_frame(client: redis.Redis, section: str = "everything") -> pd.DataFrame:
    """``INFO <section>`` as a long table: ``section``, ``field``, ``value`` (nested records left out)."""
    rows = [
        {"section": name, "field": field, "value": value}
        for name, fields in parse_info(info_text(client, section)).items()
        for field, value in fields.items()
        if not isinstance(value, dict)
    ]
    return pd.DataFrame(rows, columns=["section", "field", "value"])


def _nested(client: redis.Redis, section: str, prefix: str, index: str) -> pd.DataFrame:
    records = parse_info(info_text(client, section)).get(section, {})
    rows = [{index: name.removeprefix(prefix), **v} for name, v in records.items() if isinstance(v, dict)]
    frame = pd.DataFrame(rows)
    return frame.set_index(index) if rows else pd.DataFrame(index=pd.Index([], name=index))


def commandstats(client: redis.Redis) -> pd.DataFrame:
    """``INFO commandstats``: per command ``calls``, ``usec``, ``usec_per_call``, ``rejected_calls``,
    ``failed_calls``; most called first."""
    frame = _nested(client, "commandstats", "cmdstat_", "command")
    return frame.sort_values("calls", ascending=False) if "calls" in frame else frame


def latencystats(client: redis.Redis) -> pd.DataFrame:
    """``INFO latencystats`` (Redis 7+): per command latency percentiles in microseconds."""
    return _nested(client, "latencystats", "latency_percentiles_usec_", "command")


def errorstats(client: redis.Redis) -> pd.DataFrame:
    """``INFO errorstats``: error replies sent since start (or CONFIG RESETSTAT), per error prefix."""
    return _nested(client, "errorstats", "errorstat_", "error")


# -- the latency monitor -----------------------------------------------------------------------

#: LATENCY LATEST answers arrays without names; these are the documented positions (Redis sends the
#: first four; recent Valkey versions add the sum and the count of the spikes).
LATEST_COLUMNS = ("event", "time", "latest_ms", "max_ms", "sum_ms", "count")


def latency_latest(reply: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``LATENCY LATEST`` as a table indexed by event; ``time`` as a UTC timestamp."""
    rows = []
    for entry in reply:
        extra = tuple(f"column_{i}" for i in range(len(LATEST_COLUMNS), len(entry)))
        names = LATEST_COLUMNS[: len(entry)] + extra
        row = dict(zip(names, entry, strict=True))
        row["event"] = row["event"].decode() if isinstance(row["event"], bytes) else row["event"]
        row["time"] = pd.Timestamp(int(row["time"]), unit="s", tz="UTC")
        rows.append(row)
    columns = list(rows[0]) if rows else list(LATEST_COLUMNS[:4])  # no events: Redis's four columns
    return pd.DataFrame(rows, columns=columns).set_index("event")


def latency_history(reply: Sequence[Sequence[int]]) -> pd.DataFrame:
    """``LATENCY HISTORY event``: one row per second with a spike, ``time`` and ``latency_ms``."""
    return pd.DataFrame(
        {
            "time": [pd.Timestamp(int(t), unit="s", tz="UTC") for t, _ in reply],
            "latency_ms": [int(ms) for _, ms in reply],
        }
    )


def _pairs(value: Any) -> dict[str, Any]:
    """A RESP3 map (dict) or its RESP2 form (a flat list of name, value, ...) as a dict."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = list(zip(value[0::2], value[1::2], strict=True))
    return {k.decode() if isinstance(k, bytes) else str(k): v for k, v in items}


def latency_histogram(reply: Any) -> pd.DataFrame:
    """``LATENCY HISTOGRAM [command ...]`` (Redis 7+): rows of ``command``, ``upper_usec`` (the
    bucket's upper bound, powers of two), ``calls`` (in that bucket) and ``cumulative`` share."""
    rows = []
    for command, details in _pairs(reply).items():
        fields = _pairs(details)
        buckets = sorted((int(k), int(v)) for k, v in _pairs(fields["histogram_usec"]).items())
        total, running = sum(v for _, v in buckets), 0
        for upper, count in buckets:
            running += count
            rows.append(
                {"command": command, "upper_usec": upper, "calls": count, "cumulative": running / total}
            )
    return pd.DataFrame(rows, columns=["command", "upper_usec", "calls", "cumulative"])


def slowlog(client: redis.Redis, count: int = 10) -> pd.DataFrame:
    """``SLOWLOG GET count``: ``id``, ``start`` (UTC), ``duration_us``, ``command``, ``client``."""
    rows = []
    for entry in client.slowlog_get(count):
        text = {k: v.decode(errors="replace") if isinstance(v, bytes) else v for k, v in entry.items()}
        rows.append(
            {
                "id": text["id"],
                "start": pd.Timestamp(int(text["start_time"]), unit="s", tz="UTC"),
                "duration_us": text["duration"],
                "command": text["command"],
                "client": text.get("client_address", ""),
                "name": text.get("client_name", ""),
            }
        )
    return pd.DataFrame(rows, columns=["id", "start", "duration_us", "command", "client", "name"])


CLIENT_COLUMNS = ("id", "name", "addr", "age", "idle", "flags", "cmd", "qbuf", "omem", "tot-mem", "resp")


def client_list(client: redis.Redis, columns: Sequence[str] = CLIENT_COLUMNS) -> pd.DataFrame:
    """``CLIENT LIST`` as a table (numbers as numbers), one row per connection, by ``id``."""
    rows = [{key: _number(str(entry.get(key, ""))) for key in columns} for entry in client.client_list()]
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.set_index("id") if "id" in columns else frame


# -- redis-cli's live modes --------------------------------------------------------------------

_CLEAR_LINE = re.compile(r".*\x1b\[0G\x1b\[2K")
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def terminal_lines(text: str) -> list[str]:
    """What a terminal would show: each line as it was last redrawn, escape codes removed."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        shown = _ESCAPES.sub("", _CLEAR_LINE.sub("", line)).rstrip()
        if shown:
            lines.append(shown)
    return lines


def run_cli(server: RedisServer, args: Sequence[str], seconds: float) -> list[str]:
    """Run ``redis-cli -h .. -p .. ARGS`` for at most ``seconds`` and return the lines it showed.

    Modes like ``--stat`` and ``--latency-history`` run until stopped, and buffer their output
    when it is not a terminal (stopping them would lose it), so they get a pseudo-terminal here.
    Modes that end by themselves (``--bigkeys``, ``--memkeys``) return as soon as they finish.
    """
    command = [str(server.binaries.tool("redis-cli")), "-h", server.host, "-p", str(server.port), *args]
    leader, follower = pty.openpty()  # POSIX only, like the rest of the sandbox
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([leader], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the program exited and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        os.close(leader)
    return terminal_lines(b"".join(chunks).decode(errors="replace"))


# -- redis_exporter ----------------------------------------------------------------------------

#: redis_exporter metric -> the INFO field (or CONFIG parameter) it is read from.
EXPORTER_FIELDS: dict[str, str] = {
    "redis_up": "(the exporter could connect and run INFO)",
    "redis_uptime_in_seconds": "uptime_in_seconds",
    "redis_memory_used_bytes": "used_memory",
    "redis_memory_max_bytes": "maxmemory",
    "redis_memory_used_rss_bytes": "used_memory_rss",
    "redis_memory_used_peak_bytes": "used_memory_peak",
    "redis_mem_fragmentation_ratio": "mem_fragmentation_ratio",
    "redis_connected_clients": "connected_clients",
    "redis_blocked_clients": "blocked_clients",
    "redis_config_maxclients": "CONFIG GET maxclients",
    "redis_rejected_connections_total": "rejected_connections",
    "redis_connections_received_total": "total_connections_received",
    "redis_commands_processed_total": "total_commands_processed",
    "redis_keyspace_hits_total": "keyspace_hits",
    "redis_keyspace_misses_total": "keyspace_misses",
    "redis_evicted_keys_total": "evicted_keys",
    "redis_expired_keys_total": "expired_keys",
    "redis_total_error_replies": "total_error_replies",
    "redis_errors_total": "errorstat_<prefix>:count (label err)",
    "redis_commands_total": "cmdstat_<command>:calls (label cmd)",
    "redis_commands_duration_seconds_total": "cmdstat_<command>:usec / 1e6 (label cmd)",
    "redis_rdb_last_save_timestamp_seconds": "rdb_last_save_time",
    "redis_rdb_last_bgsave_status": "rdb_last_bgsave_status (ok = 1)",
    "redis_rdb_changes_since_last_save": "rdb_changes_since_last_save",
    "redis_connected_slaves": "connected_slaves",
    "redis_instance_info": "redis_version, role, ... (as labels; value 1)",
}

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> pd.DataFrame:
    """Prometheus text exposition (``/metrics``) as rows of ``metric``, ``labels`` (dict), ``value``."""
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match["labels"] or ""))
            rows.append({"metric": match["name"], "labels": labels, "value": float(match["value"])})
    return pd.DataFrame(rows, columns=["metric", "labels", "value"])
