"""The start-on-enter, close-on-exit protocol shared by servers, clusters and test helpers.

:class:`Managed` is the protocol itself. :class:`Group` adds the life cycle of a set of sandbox
processes started and closed together (a cluster, a replicated set, a Sentinel group): it starts
once, refuses to start after it was closed, closes what it started when the start fails, and is
closed at exit if its owner did not close it.

One exit handler closes whatever is still open, groups first: killing every member of a group at
once beats stopping its servers one by one (a master's graceful shutdown waits for its replicas).
Single sandbox processes are closed after them (:mod:`course.sandbox.process` registers them).
"""

from __future__ import annotations

import atexit
import contextlib
import weakref
from collections.abc import Iterable
from types import TracebackType
from typing import ClassVar, Protocol, Self, TypeVar


class Managed:
    """Subclasses implement ``start() -> Self`` and an idempotent ``close()``; ``with`` does both."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Closable(Protocol):
    def close(self) -> None: ...


class Member(Closable, Protocol):
    """What a group is made of: a sandbox process (or anything killed and closed the same way)."""

    def kill(self) -> None: ...


ClosableT = TypeVar("ClosableT", bound=Closable)

_open_groups: weakref.WeakSet[Group] = weakref.WeakSet()
_open_processes: weakref.WeakSet[Managed] = weakref.WeakSet()


def close_at_exit(process: Managed) -> None:
    """Close ``process`` at exit unless it is closed before (after every open group)."""
    _open_processes.add(process)


def forget_at_exit(process: Managed) -> None:
    """``process`` was closed: nothing is left to do at exit."""
    _open_processes.discard(process)


@atexit.register
def _close_all() -> None:
    for group in list(_open_groups):
        group.close()
    for process in list(_open_processes):
        process.close()


def close_quietly(items: list[ClosableT]) -> None:
    """Close and forget every item (clients), the newest first, whatever closing one of them raises."""
    while items:
        with contextlib.suppress(Exception):
            items.pop().close()


def kill_and_close(members: Iterable[Member]) -> None:
    """SIGKILL every member, then close each (its directory goes), whatever one of them raises.

    Killed rather than stopped: the files are deleted next, so there is nothing to save, a master
    would otherwise wait for its replicas, and a paused (SIGSTOPped) process ignores SIGTERM.
    """
    members = list(members)
    for member in members:
        with contextlib.suppress(Exception):
            member.kill()
    for member in members:
        with contextlib.suppress(Exception):
            member.close()


class Group(Managed):
    """Processes started and closed together; subclasses say how (``_start_members``, ``_close_members``).

    ``start`` is idempotent and refuses a closed group; a start that fails closes the group before
    the error propagates, so nothing it started is left behind. ``close`` is idempotent.
    """

    #: How errors name the group: "This cluster was closed; ...".
    what: ClassVar[str] = "group"

    def __init__(self) -> None:
        self._started = False
        self._closed = False

    def _start_members(self) -> None:
        """Start every member and wait until the group is ready."""
        raise NotImplementedError

    def _close_members(self) -> None:
        """Close every member (and client) the group holds; called once."""
        raise NotImplementedError

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise RuntimeError(f"This {self.what} was closed; create a new {type(self).__name__}.")

    def start(self) -> Self:
        """Start every member and wait until the group is ready; idempotent."""
        self._refuse_if_closed()
        if self._started:
            return self
        self._started = True
        _open_groups.add(self)
        try:
            self._start_members()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close every member and delete its directory; idempotent."""
        if self._closed:
            return
        self._closed = True
        _open_groups.discard(self)
        self._close_members()
