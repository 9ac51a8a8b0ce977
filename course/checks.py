"""Helpers the exercises' test cells use to check a contract from the outside.

Tests never look inside a solution: they bring their own server, their own subscriber and their
own clock. Everything here is plain redis-py on a connection the solution does not share.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

import redis

from course.sandbox.lifecycle import Managed
from course.sandbox.servers import RedisServer


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds pass; return the last verdict."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Subscriber(Managed):
    """A subscriber on its own connection that records every message in a background thread.

    ``start()`` returns once the server has confirmed every subscription, so anything published
    afterwards is seen. Messages are dicts as redis-py gives them (``type``, ``channel``,
    ``pattern``, ``data``), decoded to ``str``.
    """

    def __init__(
        self, server: RedisServer, *, channels: Iterable[str] = (), patterns: Iterable[str] = ()
    ) -> None:
        self._client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        self.channels = list(channels)
        self.patterns = list(patterns)
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-subscriber", daemon=True)

    def start(self, timeout: float = 5.0) -> Self:
        if self.channels:
            self._pubsub.subscribe(*self.channels)
        if self.patterns:
            self._pubsub.psubscribe(*self.patterns)
        expected = len(self.channels) + len(self.patterns)
        confirmed = 0
        deadline = time.monotonic() + timeout
        while confirmed < expected:
            if time.monotonic() > deadline:
                raise TimeoutError("the test subscriber's subscriptions were not confirmed")
            message = self._pubsub.get_message(timeout=0.1)
            if message and message["type"] in ("subscribe", "psubscribe"):
                confirmed += 1
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.05)
            except (redis.ConnectionError, ValueError):
                return
            if message and message["type"] in ("message", "pmessage"):
                with self._lock:
                    self._messages.append(message)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def data(self) -> list[str]:
        """Payloads received so far, in arrival order."""
        return [message["data"] for message in self.messages]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until ``count`` messages arrived (or the timeout) and return all received."""
        wait_until(lambda: len(self.messages) >= count, timeout)
        return self.messages

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._pubsub.close()
        self._client.close()


class CommandLog(Managed):
    """Records every command the server executes (``MONITOR``) on a connection of its own.

    Tests use it to check *how* a contract is met from the outside: that SCAN is used rather than
    KEYS, that a write happens before a publish. MONITOR never shows administrative commands
    (CONFIG, SAVE, BGSAVE, CLUSTER SETSLOT, ...): count those with ``INFO commandstats`` instead.
    The log's own connections are made before it starts, so it holds only others' commands
    (a connection opened while it records shows its handshake: ``HELLO``, ``CLIENT SETINFO``).
    """

    def __init__(self, server: RedisServer) -> None:
        self._host, self._port = server.host, server.port
        self._client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
        self._commands: list[str] = []
        self._lock = threading.Lock()
        self._monitor: Any = None
        self._stopper: redis.Redis | None = None
        self._thread = threading.Thread(target=self._run, name="test-monitor", daemon=True)
        self._marker = f"command-log-stop-{id(self)}"

    def start(self) -> Self:
        # The connection that sends the stop marker is made before MONITOR: what a client library
        # sends on connect (HELLO, CLIENT SETINFO on servers that accept it) is not in the log.
        self._stopper = redis.Redis(
            host=self._host, port=self._port, protocol=2, single_connection_client=True
        )
        self._monitor = self._client.monitor()
        self._monitor.__enter__()  # sends MONITOR and waits for its OK: nothing is missed after this
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                command = self._monitor.next_command()["command"]
            except (redis.ConnectionError, ValueError, AttributeError):
                return
            if self._marker in command:
                return
            with self._lock:
                self._commands.append(command)

    @property
    def commands(self) -> list[str]:
        """Every command seen so far, as MONITOR prints it (``"SET key value"``)."""
        with self._lock:
            return list(self._commands)

    def names(self) -> list[str]:
        """Upper-cased command names in execution order (``["MULTI", "RPUSH", ...]``)."""
        return [command.split(" ", 1)[0].upper() for command in self.commands]

    def close(self) -> None:
        """Stop recording; every command sent before this call has been recorded."""
        if self._thread.is_alive() and self._stopper is not None:
            # A marker command flows through MONITOR after everything sent before it.
            self._stopper.echo(self._marker)
            self._thread.join(timeout=5)
        if self._monitor is not None:
            with contextlib.suppress(Exception):
                self._monitor.__exit__(None, None, None)
        if self._stopper is not None:
            self._stopper.close()
        self._client.close()


SUBSCRIPTION_COMMANDS = frozenset({"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe"})


def subscriber_connections(client: redis.Redis) -> list[dict[str, Any]]:
    """Connections that are subscribed, or whose last command was a (un)subscribe.

    A solution that unsubscribes but never closes its connection shows up here; idle pool
    connections of the client that ran other commands do not.
    """
    clients: list[dict[str, Any]] = client.client_list()
    return [
        entry
        for entry in clients
        if "P" in str(entry.get("flags", "")) or str(entry.get("cmd", "")) in SUBSCRIPTION_COMMANDS
    ]
