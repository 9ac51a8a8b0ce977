"""Helpers for the replication and Sentinel lesson: log excerpts, sync counters, Sentinel events.

* :func:`log_mark` / :func:`log_since` - what a server (or a Sentinel) logged since a mark, with the
  pid, role and timestamp of each line removed, optionally only lines containing some words.
* :func:`sync_counters` - the master's ``sync_full``, ``sync_partial_ok`` and ``sync_partial_err``.
* :class:`SentinelEvents` - every event the Sentinels publish (``+sdown``, ``+odown``,
  ``+switch-master``, ...), timestamped when it arrives, one subscriber thread per Sentinel.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import pandas as pd
import redis

from course.sandbox.lifecycle import Managed
from course.sandbox.process import SandboxProcess
from course.sandbox.sentinel import SentinelProcess

#: ``6772:X 01 Dec 2026 21:46:48.728 # message``: pid, role, date, time, level, message.
_LOG_PREFIX = re.compile(r"^\d+:[A-Z] \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} [.\-*#] ")

SYNC_COUNTERS = ("sync_full", "sync_partial_ok", "sync_partial_err")


def log_mark(process: SandboxProcess) -> int:
    """How many characters the program's log holds now: pass it to :func:`log_since` later."""
    try:
        return len(process.log_path.read_text(errors="replace"))
    except FileNotFoundError:
        return 0


def log_since(process: SandboxProcess, mark: int = 0, words: Iterable[str] = ()) -> list[str]:
    """Messages logged after ``mark``, prefixes removed; only lines containing one of ``words``
    (case-insensitive) when some are given."""
    try:
        text = process.log_path.read_text(errors="replace")[mark:]
    except FileNotFoundError:
        return []
    wanted = [word.lower() for word in words]
    messages = []
    for line in text.splitlines():
        message = _LOG_PREFIX.sub("", line).strip()
        if message and (not wanted or any(word in message.lower() for word in wanted)):
            messages.append(message)
    return messages


def sync_counters(client: redis.Redis) -> dict[str, int]:
    """Full and partial resynchronisations a master has served (``INFO stats``)."""
    stats = client.info("stats")
    return {name: int(stats.get(name, 0)) for name in SYNC_COUNTERS}


@dataclass(frozen=True)
class SentinelEvent:
    """One message a Sentinel published: its channel is the event's name."""

    seconds: float  # time.perf_counter() when it arrived
    sentinel: str
    event: str
    detail: str


class SentinelEvents(Managed):
    """Subscribes to every event of the given Sentinels (``PSUBSCRIBE *``) until closed.

    ``start()`` returns once every subscription is confirmed: no later event is missed.
    """

    def __init__(self, sentinels: Sequence[SentinelProcess]) -> None:
        self._sentinels = list(sentinels)
        self._events: list[SentinelEvent] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[redis.Redis] = []

    def start(self, timeout: float = 5.0) -> Self:
        for sentinel in self._sentinels:
            client = redis.Redis(host=sentinel.host, port=sentinel.port, decode_responses=True, protocol=2)
            self._clients.append(client)
            pubsub = client.pubsub()
            pubsub.psubscribe("*")
            deadline = time.monotonic() + timeout
            while (message := pubsub.get_message(timeout=0.1)) is None or message["type"] != "psubscribe":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the subscription to {sentinel.name} was not confirmed")
            thread = threading.Thread(target=self._run, args=(sentinel.name, pubsub), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, name: str, pubsub: Any) -> None:
        while not self._halt.is_set():
            try:
                message = pubsub.get_message(timeout=0.05)
            except (redis.ConnectionError, ValueError):
                return  # the Sentinel is gone
            if message and message["type"] == "pmessage":
                event = SentinelEvent(time.perf_counter(), name, message["channel"], message["data"])
                with self._lock:
                    self._events.append(event)
        pubsub.close()

    @property
    def events(self) -> list[SentinelEvent]:
        with self._lock:
            return list(self._events)

    def first(self, event: str, after: float = 0.0) -> SentinelEvent | None:
        """The earliest ``event`` received after ``after`` (a ``time.perf_counter()`` value)."""
        return next((e for e in self.events if e.event == event and e.seconds >= after), None)

    def wait_for(self, event: str, after: float = 0.0, timeout: float = 30.0) -> SentinelEvent:
        """Wait until some Sentinel publishes ``event`` (after ``after``), or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while (found := self.first(event, after)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Sentinel published {event} within {timeout:g} s")
            time.sleep(0.01)
        return found

    def table(self, since: float = 0.0, events: Iterable[str] = ()) -> pd.DataFrame:
        """Events after ``since`` as a table, seconds counted from ``since``."""
        wanted = set(events)
        rows = [
            {
                "t (s)": round(e.seconds - since, 3),
                "sentinel": e.sentinel,
                "event": e.event,
                "detail": e.detail,
            }
            for e in self.events
            if e.seconds >= since and (not wanted or e.event in wanted)
        ]
        return pd.DataFrame(rows, columns=["t (s)", "sentinel", "event", "detail"])

    def close(self) -> None:
        self._halt.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for client in self._clients:
            client.close()
