"""A master and its replicas on loopback: ``REPLICAOF``, waiting for links, pausing a process.

``ReplicatedSet`` is a plain object and a context manager::

    with ReplicatedSet(replicas=2) as group:
        group.master.client().set("k", "v")
        replica = group.replicas[0]
        with paused(replica):          # SIGSTOP: like a partition, its sockets stay open
            ...
        group.kill(group.master)       # kill -9, as a crash would

Every server is a :class:`course.sandbox.servers.RedisServer` (own directory, claimed port, dies
with the kernel). Replicas attach with the ``REPLICAOF`` command, exactly as a lesson would, and the
sandbox also records the directive in the server's configuration, so a restart keeps its role
(``CONFIG REWRITE`` would do the same on a real server). A replica counts as attached when it
reports ``master_link_status:up`` for the expected master: the first sync is over.

The servers sync at once (``repl-diskless-sync-delay 0``): Redis's default waits 5 s for more
replicas before it starts the first sync. Servers are started from the calling thread on purpose:
Linux delivers the parent-death signal when the *thread* that forked a program exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.config import Config, ConfigValue
from course.sandbox.lifecycle import Group, kill_and_close
from course.sandbox.ports import LOOPBACK, PortClaim, claim_port
from course.sandbox.servers import RedisServer

__all__ = [
    "REPLICA_DEFAULTS",
    "ReplicatedSet",
    "ReplicationError",
    "pause",
    "paused",
    "replicate",
    "replication_info",
    "resume",
    "wait_for_link",
]

#: What every server of a replicated set gets unless its config says otherwise.
REPLICA_DEFAULTS: dict[str, ConfigValue] = {
    # The first sync starts at once instead of waiting 5 s for other replicas to join it,
    # and streams the snapshot over the socket instead of writing it to disk first.
    "repl-diskless-sync": "yes",
    "repl-diskless-sync-delay": 0,
}

POLL_SECONDS = 0.01


class ReplicationError(RuntimeError):
    """A replica did not attach in time; the message says what it reported and quotes its log."""


def _probe(server: RedisServer, timeout: float = 2.0) -> redis.Redis:
    # One short-lived connection without retries: a refused call fails at once.
    return redis.Redis(
        host=server.host,
        port=server.port,
        protocol=2,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def replication_info(server: RedisServer) -> dict[str, Any]:
    """``INFO replication`` of ``server`` as redis-py parses it (fields by name)."""
    with _probe(server) as client:
        info: dict[str, Any] = client.info("replication")
        return info


def replicate(replica: RedisServer, master: RedisServer | None) -> None:
    """``REPLICAOF <master>`` (or ``REPLICAOF NO ONE`` for ``None``), kept for restarts too."""
    with _probe(replica) as client:
        if master is None:
            client.execute_command("REPLICAOF", "NO", "ONE")
            replica.config.pop("replicaof", None)
        else:
            client.execute_command("REPLICAOF", master.host, master.port)
            replica.config["replicaof"] = f"{master.host} {master.port}"


def _link_problem(replica: RedisServer, master: RedisServer) -> str | None:
    """Why ``replica`` is not attached to ``master`` yet, or ``None`` once it is."""
    try:
        info = replication_info(replica)
    except redis.RedisError as error:
        return f"does not answer INFO ({type(error).__name__}: {error})"
    if info.get("role") != "slave":
        return f"reports role:{info.get('role')}"
    if int(info.get("master_port", -1)) != master.port:
        return f"replicates from port {info.get('master_port')}, not {master.port}"
    if info.get("master_link_status") != "up":
        return f"reports master_link_status:{info.get('master_link_status')}"
    return None


def wait_for_link(replica: RedisServer, master: RedisServer, timeout: float = 30.0) -> None:
    """Wait until ``replica`` reports ``master_link_status:up`` for ``master`` (first sync done)."""
    deadline = time.monotonic() + timeout
    while (problem := _link_problem(replica, master)) is not None:
        if time.monotonic() >= deadline:
            raise ReplicationError(
                f"{replica.name} ({replica.address}) did not attach to {master.name} ({master.address}) "
                f"within {timeout:g} s: it {problem}.\nIts log ends with:\n{replica.log_tail()}"
            )
        time.sleep(POLL_SECONDS)


def pause(server: RedisServer) -> None:
    """SIGSTOP: the process stops answering but keeps its sockets, as behind a partition."""
    if server.pid is not None:
        os.kill(server.pid, signal.SIGSTOP)


def resume(server: RedisServer) -> None:
    """SIGCONT after :func:`pause`; harmless on a running process."""
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)


@contextlib.contextmanager
def paused(server: RedisServer) -> Iterator[RedisServer]:
    """``with paused(server):`` stops it for the block and resumes it however the block ends."""
    pause(server)
    try:
        yield server
    finally:
        resume(server)


class ReplicatedSet(Group):
    """One master and ``replicas`` replicas, each a sandbox :class:`RedisServer`."""

    what = "replicated set"

    def __init__(
        self,
        replicas: int = 2,
        *,
        config: Config | None = None,
        name: str = "",
        binaries: RedisBinaries | None = None,
        link_timeout: float = 30.0,
    ) -> None:
        if replicas < 0:
            raise ValueError("A replicated set has zero or more replicas.")
        self.replicas_wanted = replicas
        self.config: dict[str, ConfigValue] = {**REPLICA_DEFAULTS, **(config or {})}
        self.name = name
        self.link_timeout = link_timeout
        self._binaries = binaries
        self.master: RedisServer | None = None
        self.replicas: list[RedisServer] = []
        self._servers: list[RedisServer] = []
        self._nowhere: PortClaim | None = None
        super().__init__()

    def _label(self, index: int) -> str:
        # "master", "replica-1", ... or, with a name, "<name>-1" (the first master), "<name>-2", ...
        if self.name:
            return f"{self.name}-{index + 1}"
        return "master" if index == 0 else f"replica-{index}"

    @property
    def servers(self) -> list[RedisServer]:
        """Every server of the set, the first master first (roles may have changed since)."""
        return list(self._servers)

    def new_server(self, name: str | None = None, config: Config | None = None) -> RedisServer:
        """Start one more server with the set's configuration; it belongs to the set (closed with it)."""
        self._refuse_if_closed()
        self._binaries = self._binaries or find_redis()
        index = len(self._servers)
        server = RedisServer(
            {**self.config, **(config or {})},
            name=name or f"{self.name or 'server'}-{index + 1}",
            binaries=self._binaries,
        )
        self._servers.append(server)
        server.start()  # from the calling thread: see the module docstring
        return server

    def _start_members(self) -> None:
        """Start the master and every replica, attach them with REPLICAOF and wait."""
        self.master = self.new_server(self._label(0))
        for index in range(1, self.replicas_wanted + 1):
            replica = self.new_server(self._label(index))
            replicate(replica, self.master)
            self.replicas.append(replica)
        for replica in self.replicas:
            wait_for_link(replica, self.master, self.link_timeout)

    def attach(
        self, replica: RedisServer, master: RedisServer | None = None, timeout: float | None = None
    ) -> None:
        """``REPLICAOF`` ``master`` (the set's first master by default) and wait until the link is up."""
        master = master or self.master
        assert master is not None, "start() the set first"
        replicate(replica, master)
        self.wait_for_link(replica, master, timeout)

    def wait_for_link(
        self, replica: RedisServer, master: RedisServer | None = None, timeout: float | None = None
    ) -> None:
        """Wait until ``replica`` reports ``master_link_status:up`` for ``master`` (first sync done)."""
        master = master or self.master
        assert master is not None, "start() the set first"
        wait_for_link(replica, master, self.link_timeout if timeout is None else timeout)

    def detach(self, replica: RedisServer) -> None:
        """Make ``replica``'s master unreachable: ``REPLICAOF`` a claimed port where nothing listens.

        The replica keeps its data, its replication id and its offset, and retries every second,
        as it would behind a network failure; :meth:`attach` points it back.
        """
        if self._nowhere is None:
            self._nowhere = claim_port()  # claimed, so no sandbox server takes it; never bound
        with _probe(replica) as client:
            client.execute_command("REPLICAOF", LOOPBACK, self._nowhere.port)

    def pause(self, server: RedisServer) -> None:
        """SIGSTOP ``server``: see :func:`pause`."""
        pause(server)

    def resume(self, server: RedisServer) -> None:
        """SIGCONT ``server``: see :func:`resume`."""
        resume(server)

    def paused(self, server: RedisServer) -> contextlib.AbstractContextManager[RedisServer]:
        """``with group.paused(server):`` see :func:`paused`."""
        return paused(server)

    def kill(self, server: RedisServer) -> None:
        """kill -9 (a paused server too): no shutdown, no save, as a crash would."""
        server.kill()

    def _close_members(self) -> None:
        kill_and_close(self._servers)
        if self._nowhere is not None:
            self._nowhere.release()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{sum(s.running for s in self._servers)} servers running"
        return f"<ReplicatedSet 1 master x {self.replicas_wanted} replicas, {state}>"
