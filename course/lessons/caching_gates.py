"""Pause a client's thread at a chosen command, so a test or a demo can force one interleaving.

A race between two threads shows up once in a thousand runs; a gate makes it happen every time.
Tell the gate where to stop a thread - just *before* it sends a command, or just *after* it has
read the reply to one - do what the other thread would do at the worst moment, then open it::

    gate = Gate()
    client = gated_client(server, gate)     # a redis.Redis whose connections obey the gate
    gate.hold_after("GET", key="product:1")
    ... start the code under test in a thread ...
    assert gate.wait_held(timeout=10)       # that thread has read GET's reply and is paused
    ... act as the other thread ...
    gate.open()                             # let it go (and hold nobody any more)

Commands are seen on every connection of the client's pool, single commands and pipelines alike.
A held thread goes on by itself after ``max_hold`` seconds, so a forgotten gate cannot hang.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import redis
from redis.connection import Connection, ConnectionPool

from course.sandbox.servers import RedisServer

Moment = Literal["before", "after"]
Command = tuple[Any, ...]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Gate:
    """Where to hold threads, and the switch that releases them."""

    def __init__(self, max_hold: float = 30.0) -> None:
        self.max_hold = max_hold
        self._lock = threading.Lock()
        self._rule: tuple[Moment, frozenset[str], str | None] | None = None
        self._released = threading.Event()
        self._held = threading.Event()
        #: Every command a thread was held at, as sent (name first).
        self.held: list[Command] = []

    def hold_before(self, *names: str, key: str | None = None) -> None:
        """Hold threads about to send one of ``names`` (any command if none) on ``key`` (any if None)."""
        self._arm("before", names, key)

    def hold_after(self, *names: str, key: str | None = None) -> None:
        """Hold threads that have just read the reply to one of ``names`` on ``key``."""
        self._arm("after", names, key)

    def _arm(self, moment: Moment, names: Iterable[str], key: str | None) -> None:
        with self._lock:
            self._rule = (moment, frozenset(name.upper() for name in names), key)
            self._released.clear()
            self._held.clear()

    def open(self) -> None:
        """Release every held thread and hold no more."""
        with self._lock:
            self._rule = None
            self._released.set()

    def wait_held(self, timeout: float) -> bool:
        """Wait until a thread is held; ``False`` if none was within ``timeout`` seconds."""
        return self._held.wait(timeout)

    def check(self, moment: Moment, command: Command | None) -> None:
        """Called by the connections: hold this thread here if the rule says so."""
        if command is None or not command:
            return
        with self._lock:
            rule = self._rule
            if rule is None or rule[0] != moment:
                return
            _, names, key = rule
            name = _text(command[0]).upper()
            if names and name not in names:
                return
            if key is not None and (len(command) < 2 or _text(command[1]) != key):
                return
            self.held.append(command)
            self._held.set()
            released = self._released
        released.wait(self.max_hold)


class GatedConnection(Connection):
    """A connection that shows each command to its gate before sending and after its reply."""

    gate: Gate  # set on the subclass that :func:`gated_client` makes for each gate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._pending: deque[Command] = deque()  # sent, reply not read yet, in order

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self.gate.check("before", args)
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._pending.append(args)

    def pack_commands(self, commands: Sequence[Command]) -> Any:
        # Pipelines pack all their commands at once, then send them: hold before the first.
        commands = [tuple(command) for command in commands]
        for command in commands:
            self.gate.check("before", command)
        packed = super().pack_commands(commands)  # type: ignore[no-untyped-call]
        self._pending.extend(commands)
        return packed

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        pushed = bool(kwargs.get("push_request"))  # a Pub/Sub push answers no command
        try:
            reply = super().read_response(*args, **kwargs)
        finally:
            command = self._pending.popleft() if self._pending and not pushed else None
        self.gate.check("after", command)
        return reply

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        self._pending.clear()
        super().disconnect(*args, **kwargs)  # type: ignore[no-untyped-call]


def gated_client(server: RedisServer, gate: Gate, **kwargs: Any) -> redis.Redis:
    """A ``redis.Redis`` for ``server`` whose every connection obeys ``gate`` (text replies by default)."""
    kwargs.setdefault("decode_responses", True)
    connection_class = type("GatedConnection", (GatedConnection,), {"gate": gate})
    pool = ConnectionPool(host=server.host, port=server.port, connection_class=connection_class, **kwargs)
    return redis.Redis(connection_pool=pool)
