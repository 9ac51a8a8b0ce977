"""Load for the monitoring lesson: traffic, idle connections, refused connections, slow scripts.

* :class:`Traffic` - background threads playing cache-aside reads and writes (a seeded mix of hits
  and misses), so that ops/s, the hit ratio and memory move;
* :class:`IdleConnections` - raw TCP connections that stay open and send nothing, as a leaky
  connection pool would hold them;
* :func:`refused_connections` - open connections past ``maxclients`` and count the refusals;
* :func:`slow_script` - a Lua script that keeps the server busy for a given time (``DEBUG SLEEP``
  is refused by default since Redis 7);
* :class:`Periodic` - run an action every few seconds in a thread (a backup job).
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Self

import redis

from course.sandbox.lifecycle import Managed
from course.sandbox.servers import RedisServer

#: Busy-waits ARGV[1] milliseconds; the server runs nothing else meanwhile. Valkey 9 answers TIME
#: inside a script with the time the script started (a loop on TIME ran there until the 5 s
#: busy-reply-threshold, while everyone else got BUSY), so where scripts have os.clock, the server's
#: CPU time, the loop watches that instead: never ahead of the wall clock, so a spike lasts at least
#: as asked, and it runs no commands. Redis 7.0's scripts have no os library (rawget avoids their
#: error on unknown globals) and see TIME advance.
BUSY_SCRIPT = """
local wanted = tonumber(ARGV[1]) * 1000
local clock = rawget(_G, 'os') and os.clock
if clock then
  local began = clock()
  while (clock() - began) * 1000000 < wanted do end
  return 1
end
local function micros()
  local now = redis.call('TIME')
  return now[1] * 1000000 + now[2]
end
local began = micros()
while micros() - began < wanted do end
return 1
"""


def slow_script(client: redis.Redis, milliseconds: float) -> None:
    """Block the server for at least ``milliseconds`` with a busy Lua script (a latency spike on demand)."""
    client.eval(BUSY_SCRIPT, 0, milliseconds)


class Traffic(Managed):
    """``threads`` threads, each with its own connection, playing cache-aside requests.

    Each request reads ``<prefix><n>`` for a random ``n`` below ``keys`` and, on a miss, writes it
    with a ``value_bytes`` value (``SET ... NX``). Requests go in pipelines of ``batch`` with a
    ``pause`` between batches, so the load leaves the machine room for the rest of the lesson.
    ``requests`` counts what was sent; ``errors`` keeps the first few errors (OOM, disconnections).
    """

    def __init__(
        self,
        server: RedisServer,
        *,
        keys: int = 2_000,
        value_bytes: int = 1_000,
        threads: int = 2,
        batch: int = 50,
        pause: float = 0.01,
        prefix: str = "traffic:",
        seed: int = 0,
    ) -> None:
        self.server = server
        self.keys, self.value, self.batch, self.pause = keys, "v" * value_bytes, batch, pause
        self.prefix = prefix
        self.requests = 0
        self.errors: list[Exception] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(seed + i,), name=f"traffic-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        client = redis.Redis(host=self.server.host, port=self.server.port, client_name="traffic")
        try:
            while not self._stop.is_set():
                names = [f"{self.prefix}{rng.randrange(self.keys)}" for _ in range(self.batch)]
                try:
                    self._batch(client, names)
                except redis.RedisError as error:
                    if len(self.errors) < 10:
                        self.errors.append(error)
                    self._stop.wait(0.1)  # the server is down or refusing: retry calmly
                with self._lock:
                    self.requests += len(names)
                self._stop.wait(self.pause)
        finally:
            client.close()

    def _batch(self, client: redis.Redis, names: list[str]) -> None:
        values = client.mget(names)
        missed = [name for name, value in zip(names, values, strict=True) if value is None]
        if missed:
            pipe = client.pipeline(transaction=False)
            for name in missed:
                pipe.set(name, self.value, nx=True)
            pipe.execute(raise_on_error=False)  # OOM under noeviction is part of the lesson

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)


def _wait_for_clients(server: RedisServer, at_least: int, timeout: float) -> None:
    probe = server.client()
    try:
        deadline = time.monotonic() + timeout
        while probe.info("clients")["connected_clients"] < at_least:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not see {at_least} connections within {timeout:g} s")
            time.sleep(0.01)
    finally:
        probe.close()


class IdleConnections(Managed):
    """``count`` TCP connections to ``server`` that stay open and send nothing.

    ``start()`` returns once the server counts them (``connected_clients``); ``close()`` closes all.
    """

    def __init__(self, server: RedisServer, count: int) -> None:
        self.server, self.count = server, count
        self._sockets: list[socket.socket] = []

    def start(self, timeout: float = 10.0) -> Self:
        probe = self.server.client()
        before = probe.info("clients")["connected_clients"] - 1  # without the probe itself
        probe.close()
        for _ in range(self.count):
            self._sockets.append(socket.create_connection((self.server.host, self.server.port), timeout=5))
        _wait_for_clients(self.server, before + self.count, timeout)
        return self

    def close(self) -> None:
        while self._sockets:
            with contextlib.suppress(OSError):
                self._sockets.pop().close()


def refused_connections(server: RedisServer, attempts: int, timeout: float = 5.0) -> int:
    """Open ``attempts`` connections at once, close them again as soon as the server has dealt
    with every one, and return how many it refused (``-ERR max number of clients reached``).

    Past ``maxclients`` the server is full only for that moment, so other clients (an exporter
    scraping it) are very unlikely to be refused too.
    """
    probe = server.client()
    before = probe.info()
    sockets: list[socket.socket] = []
    try:
        for _ in range(attempts):
            sockets.append(socket.create_connection((server.host, server.port), timeout=5))
        deadline = time.monotonic() + timeout
        while True:
            now = probe.info()
            refused = int(now["rejected_connections"] - before["rejected_connections"])
            accepted = int(now["connected_clients"] - before["connected_clients"])
            if accepted + refused >= attempts or time.monotonic() > deadline:
                return refused
            time.sleep(0.001)
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        probe.close()


class Periodic(Managed):
    """Call ``action`` every ``interval`` seconds in a thread until closed (errors are kept)."""

    def __init__(self, interval: float, action: Callable[[], object], name: str = "periodic") -> None:
        self.interval, self.action = interval, action
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.action()
            except Exception as error:  # kept for the caller; the job keeps its schedule
                self.errors.append(error)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
