"""Workloads for the performance lesson: key traces, a cache replay, round-trip counting, redis-benchmark.

* :func:`zipf_trace` - a seeded, skewed (Zipf-like) sequence of key names, the shape of real cache
  traffic: a few keys are requested very often, most keys rarely.
* :func:`replay_cache_aside` - plays a trace against a server as a cache-aside application would
  (read; on a miss, write) and counts hits, misses and writes the server refused.
* :func:`set_throughput` - SETs per second one at a time, pipelined, in MULTI/EXEC or with MSET.
* :class:`RoundTripCounter` - a client whose connections count their writes to the socket, so a
  test can count round trips without reading the code under test.
* :func:`run_redis_benchmark` / :func:`parse_benchmark_csv` - the ``redis-benchmark`` ceiling.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import random
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis
from redis.connection import Connection, ConnectionPool
from redis.exceptions import OutOfMemoryError

from course.measure import Stopwatch, rate
from course.sandbox.servers import RedisServer


def zipf_trace(
    n_keys: int, length: int, *, exponent: float = 1.0, seed: int = 0, prefix: str = "key:"
) -> list[str]:
    """``length`` requests over ``n_keys`` keys; key of rank k is drawn with weight 1 / k**exponent.

    Keys are named ``<prefix><rank - 1>``: ``key:0`` is the most popular. The same arguments give
    the same trace on every machine (a private, seeded generator).
    """
    if n_keys < 1 or length < 0:
        raise ValueError("n_keys must be at least 1 and length not negative")
    generator = random.Random(seed)
    cumulative = list(itertools.accumulate(1 / rank**exponent for rank in range(1, n_keys + 1)))
    total = cumulative[-1]
    return [f"{prefix}{bisect.bisect_left(cumulative, generator.random() * total)}" for _ in range(length)]


@dataclass(frozen=True)
class ReplayStats:
    """What a cache-aside replay saw: every request is a hit or a miss; some misses' writes fail."""

    requests: int
    hits: int
    refused_writes: int

    @property
    def misses(self) -> int:
        return self.requests - self.hits

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0


def replay_cache_aside(
    client: redis.Redis,
    trace: Sequence[str],
    *,
    value_bytes: int = 200,
    ttl_seconds: int | None = None,
    batch: int = 500,
) -> ReplayStats:
    """Play ``trace`` as a cache-aside application: GET each key; on a miss, SET it (NX).

    Every request is a ``GET key`` followed by ``SET key value NX`` (which does nothing on a hit), so
    the server sees the same sequence as a one-request-at-a-time application and evicts between
    commands exactly as it would for one; sending them in pipelines of ``batch`` requests only
    saves round trips. A write refused with an OOM error (``noeviction``, or a ``volatile-*``
    policy with nothing to evict) is counted in ``refused_writes``. ``ttl_seconds`` gives every
    written key a time to live (the ``volatile-*`` policies only evict keys that have one).
    """
    value = "v" * value_bytes
    hits = refused = 0
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(trace), batch):
        for key in trace[start : start + batch]:
            pipe.get(key)
            pipe.set(key, value, nx=True, ex=ttl_seconds)
        replies = pipe.execute(raise_on_error=False)
        for read, write in _pairs(replies):
            if isinstance(read, Exception):
                raise read
            if read is not None:
                hits += 1
            elif isinstance(write, OutOfMemoryError):
                refused += 1
            elif isinstance(write, Exception):
                raise write
    return ReplayStats(requests=len(trace), hits=hits, refused_writes=refused)


def _pairs(items: Sequence[Any]) -> Iterable[tuple[Any, Any]]:
    return zip(items[0::2], items[1::2], strict=True)


SetMode = Literal["single", "pipeline", "transaction", "mset"]


def set_throughput(client: redis.Redis, count: int, *, batch: int = 1, mode: SetMode = "pipeline") -> float:
    """Keys written per second by ``count`` SETs of a 3-byte value to ``bench:<i>``.

    ``single``: one SET per round trip. ``pipeline``: ``batch`` SETs per round trip, no MULTI/EXEC.
    ``transaction``: the same wrapped in MULTI/EXEC (redis-py's default pipeline). ``mset``: one MSET
    of ``batch`` keys per round trip.
    """
    keys = [f"bench:{i}" for i in range(count)]
    with Stopwatch() as watch:
        if mode == "single":
            for key in keys:
                client.set(key, "xxx")
        elif mode == "mset":
            for start in range(0, count, batch):
                client.mset(dict.fromkeys(keys[start : start + batch], "xxx"))
        else:
            pipe = client.pipeline(transaction=mode == "transaction")
            for start in range(0, count, batch):
                for key in keys[start : start + batch]:
                    pipe.set(key, "xxx")
                pipe.execute()
    return rate(count, watch.seconds)


def count_commands(payload: bytes) -> int:
    """How many commands a packed RESP request holds (top-level arrays of bulk strings)."""
    position = count = 0
    while position < len(payload):
        if payload[position : position + 1] != b"*":
            raise ValueError(f"not a RESP array at byte {position}")
        end = payload.index(b"\r\n", position)
        arguments = int(payload[position + 1 : end])
        position = end + 2
        for _ in range(arguments):
            end = payload.index(b"\r\n", position)
            length = int(payload[position + 1 : end])
            position = end + 2 + length + 2
        count += 1
    return count


class RoundTripCounter:
    """Makes clients whose connections record every write of a request to their socket.

    redis-py writes each command, or each pipeline's whole batch, to the socket in one
    ``send_packed_command`` call and then reads the replies: one such call is one round trip.
    The connection handshake (HELLO, CLIENT SETINFO) is not counted. ``writes`` holds the number of
    commands in each counted write, in order; ``before_write`` (if given) runs just before each
    counted write reaches the socket, in the writing thread.
    """

    def __init__(self, before_write: Callable[[], object] | None = None) -> None:
        self.before_write = before_write
        self._writes: list[int] = []
        self._lock = threading.Lock()
        counter = self

        class CountingConnection(Connection):
            _in_handshake = False

            def on_connect_check_health(self, check_health: bool = True) -> None:
                self._in_handshake = True
                try:
                    super().on_connect_check_health(check_health=check_health)
                finally:
                    self._in_handshake = False

            def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                if not self._in_handshake:
                    counter._record(command)
                super().send_packed_command(command, check_health=check_health)  # type: ignore[no-untyped-call]

        self.connection_class = CountingConnection

    def _record(self, command: Any) -> None:
        chunks = [command] if isinstance(command, bytes | str) else command
        payload = b"".join(chunk.encode() if isinstance(chunk, str) else bytes(chunk) for chunk in chunks)
        if self.before_write is not None:
            self.before_write()
        with self._lock:
            self._writes.append(count_commands(payload))

    def client(self, server: RedisServer, **kwargs: Any) -> redis.Redis:
        """A client of ``server`` (``decode_responses=True`` unless overridden) that is counted."""
        kwargs.setdefault("decode_responses", True)
        pool = ConnectionPool(
            host=server.host, port=server.port, connection_class=self.connection_class, **kwargs
        )
        return redis.Redis(connection_pool=pool)

    @property
    def writes(self) -> list[int]:
        with self._lock:
            return list(self._writes)

    @property
    def round_trips(self) -> int:
        with self._lock:
            return len(self._writes)

    def reset(self) -> None:
        with self._lock:
            self._writes.clear()


@dataclass(frozen=True)
class BenchmarkRow:
    """One line of ``redis-benchmark --csv``: requests per second and latencies in milliseconds."""

    test: str
    rps: float
    avg_ms: float
    min_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def parse_benchmark_csv(text: str) -> list[BenchmarkRow]:
    """Rows of ``redis-benchmark --csv`` output (Redis 7 format: a header, then one row per test)."""
    rows = list(csv.reader(io.StringIO(text.strip())))
    if not rows or rows[0][:2] != ["test", "rps"]:
        raise ValueError(f"not redis-benchmark CSV output: {text[:200]!r}")
    return [BenchmarkRow(row[0], *(float(value) for value in row[1:8])) for row in rows[1:] if row]


def run_redis_benchmark(
    server: RedisServer,
    *,
    tests: str = "set",
    requests: int = 100_000,
    pipeline: int = 1,
    clients: int = 1,
    data_size: int = 3,
    keyspace: int | None = 100_000,
    timeout: float = 120,
) -> list[BenchmarkRow]:
    """Run ``redis-benchmark`` against ``server`` and return its rows (one per test).

    ``pipeline`` is ``-P`` (commands per round trip), ``clients`` is ``-c`` (connections),
    ``keyspace`` is ``-r`` (random keys ``key:000000000042``; ``None`` hits one key).
    redis-benchmark 7.0 never gives up on a server it cannot reach, so this checks first.
    """
    if min(requests, pipeline, clients) < 1:
        raise ValueError("requests, pipeline and clients must be at least 1")
    if not server.running:
        raise RuntimeError(f"{server!r} is not running: redis-benchmark would wait for it forever")
    command = [
        str(server.binaries.tool("redis-benchmark")),
        "-h",
        server.host,
        "-p",
        str(server.port),
        "-t",
        tests,
        "-n",
        str(requests),
        "-P",
        str(pipeline),
        "-c",
        str(clients),
        "-d",
        str(data_size),
        "--csv",
    ]
    if keyspace is not None:
        command += ["-r", str(keyspace)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(
            f"redis-benchmark did not finish within {timeout:g} s (it waits forever when it cannot connect)"
        ) from error
    if result.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed ({result.returncode}): {result.stderr or result.stdout}")
    return parse_benchmark_csv(result.stdout)
