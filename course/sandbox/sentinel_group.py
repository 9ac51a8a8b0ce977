"""A master, its replicas and the Sentinels that watch them, all in the sandbox.

``SentinelGroup`` is a plain object and a context manager::

    with SentinelGroup(replicas=2, sentinels=3, quorum=2, down_after_ms=2000) as group:
        sentinel = group.client()                      # redis-py's redis.sentinel.Sentinel
        master = sentinel.master_for(group.service)    # follows failovers
        old = group.master()
        group.kill(old)                                # kill -9, as a crash would
        new = group.wait_for_failover(old)             # a replica was promoted
        group.rejoin(old)                              # back, as a replica of the new master

The servers are named ``redis-1`` (the first master), ``redis-2``, ...; the Sentinels
``sentinel-1``, ... . Start means: the replicated set is attached (see
:mod:`course.sandbox.replication`) and every Sentinel has connected to the master, lists every
replica as healthy and knows every other Sentinel (they discover each other through
``__sentinel__:hello`` messages every 2 s). Closing
kills everything and is idempotent; a group still open at exit is closed then, and its processes
die with the kernel anyway (parent-death signal).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.sentinel import Sentinel

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.config import Config
from course.sandbox.lifecycle import Group, close_quietly
from course.sandbox.replication import ReplicatedSet, replication_info, wait_for_link
from course.sandbox.sentinel import Monitor, SentinelProcess, flags_of
from course.sandbox.servers import RedisServer

__all__ = ["SentinelGroup", "SentinelNotReadyError"]

POLL_SECONDS = 0.02
#: Flags that mean a Sentinel does not consider an instance healthy.
UNHEALTHY = frozenset({"s_down", "o_down", "disconnected", "failover_in_progress"})


class SentinelNotReadyError(RuntimeError):
    """The Sentinels did not reach the expected state in time; the message says which did not."""


class SentinelGroup(Group):
    """One master, ``replicas`` replicas and ``sentinels`` Sentinels watching them as ``service``."""

    def __init__(
        self,
        replicas: int = 2,
        sentinels: int = 3,
        *,
        quorum: int = 2,
        service: str = "mymaster",
        # Sentinel PINGs once a second: much closer to 1000 ms, a server is flagged down after a
        # single late reply (measured here: spurious failovers right after a failover).
        down_after_ms: int = 2000,
        failover_timeout_ms: int = 2000,
        config: Config | None = None,
        ready_timeout: float = 30.0,
        name: str = "redis",
    ) -> None:
        if sentinels < 1 or not 1 <= quorum <= sentinels:
            raise ValueError("A group needs at least one Sentinel and a quorum between 1 and their number.")
        self.replicas_wanted = replicas
        self.sentinels_wanted = sentinels
        self.quorum = quorum
        self.service = service
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.ready_timeout = ready_timeout
        self.name = name
        self.data = ReplicatedSet(replicas, config=config, name=name)
        self.sentinels: list[SentinelProcess] = []
        self._binaries: RedisBinaries | None = None
        self._clients: list[Sentinel] = []
        super().__init__()

    # -- life cycle ------------------------------------------------------------------------------

    def _start_members(self) -> None:
        """Start the servers and the Sentinels and wait until every Sentinel sees them all."""
        self._binaries = find_redis()
        self.data.start()
        assert self.data.master is not None
        monitor = Monitor(
            self.service,
            self.data.master.port,
            quorum=self.quorum,
            down_after_ms=self.down_after_ms,
            failover_timeout_ms=self.failover_timeout_ms,
        )
        for index in range(1, self.sentinels_wanted + 1):
            sentinel = SentinelProcess(monitor, name=f"sentinel-{index}", binaries=self._binaries)
            self.sentinels.append(sentinel)
            sentinel.start()  # from the calling thread: it must die with the kernel
        self.wait_ready()

    def _close_members(self) -> None:
        close_quietly(self._clients)
        for sentinel in self.sentinels:  # first, so that nobody reconfigures the servers meanwhile
            with contextlib.suppress(Exception):
                sentinel.close()
        self.data.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<SentinelGroup closed>"
        running = sum(s.running for s in self.data.servers)
        return (
            f"<SentinelGroup {self.service!r}: {running} servers, "
            f"{sum(s.running for s in self.sentinels)} sentinels, quorum {self.quorum}>"
        )

    # -- who is who --------------------------------------------------------------------------------

    @property
    def servers(self) -> list[RedisServer]:
        """Every Redis server of the group (running or not), in the order they were started."""
        return self.data.servers

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every Sentinel, as redis-py's ``Sentinel`` takes them."""
        return [(s.host, s.port) for s in self.sentinels]

    def running_sentinels(self) -> list[SentinelProcess]:
        return [s for s in self.sentinels if s.running]

    def server_at(self, address: tuple[str, int]) -> RedisServer:
        """The group's server listening on ``address``."""
        for server in self.servers:
            if (server.host, server.port) == tuple(address):
                return server
        raise LookupError(f"No server of this group listens on {address[0]}:{address[1]}.")

    def master(self) -> RedisServer:
        """The server the (first answering) Sentinel reports as master now."""
        for sentinel in self.running_sentinels():
            with contextlib.suppress(redis.RedisError):
                address = sentinel.master_address()
                if address is not None:
                    return self.server_at(address)
        raise SentinelNotReadyError("No Sentinel of the group answers.")

    def replicas(self) -> list[RedisServer]:
        """Running servers that report ``role:slave`` now."""
        found = []
        for server in self.servers:
            if server.running:
                with contextlib.suppress(redis.RedisError):
                    if replication_info(server).get("role") == "slave":
                        found.append(server)
        return found

    # -- waiting -------------------------------------------------------------------------------------

    def _wait(self, what: str, timeout: float | None, problem: Callable[[], str | None]) -> None:
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                reason = problem()
            except redis.RedisError as error:
                reason = f"{type(error).__name__}: {error}"
            if reason is None:
                return
            if time.monotonic() >= deadline:
                raise SentinelNotReadyError(f"{what}: not done after {limit:.1f} s: {reason}")
            time.sleep(POLL_SECONDS)

    def _view_problem(
        self, master: RedisServer, replicas: list[RedisServer], enough: int | None = None
    ) -> str | None:
        """Why some Sentinel does not (yet) see ``master`` healthy, with ``enough`` of ``replicas``
        (all of them by default) healthy, and every other Sentinel."""
        others = len(self.running_sentinels()) - 1
        for sentinel in self.running_sentinels():
            state = sentinel.master_state()
            if (state["ip"], int(state["port"])) != (master.host, master.port):
                return f"{sentinel.name} reports the master at {state['ip']}:{state['port']}"
            bad = flags_of(state) & UNHEALTHY
            if bad:
                return f"{sentinel.name} flags the master {','.join(sorted(bad))}"
            if int(state["num-other-sentinels"]) < others:
                return f"{sentinel.name} knows {state['num-other-sentinels']} other Sentinels of {others}"
            healthy = {
                (entry["ip"], int(entry["port"]))
                for entry in sentinel.replicas_state()
                if not flags_of(entry) & UNHEALTHY and entry.get("master-link-status") == "ok"
            }
            missing = [r.name for r in replicas if (r.host, r.port) not in healthy]
            if len(replicas) - len(missing) < (len(replicas) if enough is None else enough):
                return f"{sentinel.name} does not list {', '.join(missing)} as a healthy replica yet"
        return None

    def wait_ready(self, timeout: float | None = None, *, healthy_replicas: int | None = None) -> None:
        """Wait until every running Sentinel sees the master, each other and its running replicas
        (or only ``healthy_replicas`` of them: a Sentinel refreshes what it knows of a replica only
        every 10 s, so a server it has just demoted looks unhealthy to the others for a while)."""
        master = self.master()
        replicas = [
            r for r in self.replicas() if int(replication_info(r).get("master_port", -1)) == master.port
        ]
        self._wait("Sentinels ready", timeout, lambda: self._view_problem(master, replicas, healthy_replicas))

    def wait_for_failover(self, old_master: RedisServer, timeout: float | None = None) -> RedisServer:
        """Wait until every running Sentinel reports one new master that says ``role:master``."""
        found: dict[str, RedisServer] = {}

        def problem() -> str | None:
            addresses = {s.master_address() for s in self.running_sentinels()}
            if len(addresses) != 1:
                return f"the Sentinels disagree: {sorted(a for a in addresses if a)}"
            (address,) = addresses
            if address is None or address == (old_master.host, old_master.port):
                return "the Sentinels still report the old master"
            server = self.server_at(address)
            role = replication_info(server).get("role")
            if role != "master":
                return f"{server.name} reports role:{role}"
            found["new"] = server
            return None

        self._wait(f"Failover of {old_master.name}", timeout, problem)
        return found["new"]

    # -- acting on it ----------------------------------------------------------------------------

    def kill(self, server: RedisServer) -> None:
        """kill -9 a server (a paused one too): no shutdown, no save, as a crash would."""
        server.kill()

    def wait_for_link(self, replica: RedisServer, master: RedisServer, timeout: float | None = None) -> None:
        """Wait until ``replica`` reports ``master_link_status:up`` for ``master``."""
        wait_for_link(replica, master, self.ready_timeout if timeout is None else timeout)

    def pause(self, server: RedisServer) -> None:
        """SIGSTOP: it stops answering but keeps its connections, as behind a partition."""
        self.data.pause(server)

    def resume(self, server: RedisServer) -> None:
        """SIGCONT after :meth:`pause`."""
        self.data.resume(server)

    def rejoin(self, server: RedisServer, timeout: float | None = None) -> None:
        """Start a stopped server again as a replica of the current master, and wait until the
        Sentinels list it as healthy (what Sentinel itself does only some seconds after it is back)."""
        master = self.master()
        server.config["replicaof"] = f"{master.host} {master.port}"
        server.start()
        wait_for_link(server, master, self.ready_timeout if timeout is None else timeout)
        replicas = [
            r for r in self.replicas() if int(replication_info(r).get("master_port", -1)) == master.port
        ]
        self._wait(f"{server.name} rejoined", timeout, lambda: self._view_problem(master, replicas))

    def set(self, option: str, value: Any) -> None:
        """``SENTINEL SET <service> <option> <value>`` on every running Sentinel."""
        for sentinel in self.running_sentinels():
            sentinel.command("SENTINEL", "SET", self.service, option, value)
        if option == "down-after-milliseconds":
            self.down_after_ms = int(value)
        elif option == "failover-timeout":
            self.failover_timeout_ms = int(value)

    def client(self, **kwargs: Any) -> Sentinel:
        """redis-py's ``Sentinel`` for this group (``decode_responses=True`` unless overridden)."""
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 2.0)
        client = Sentinel(self.sentinel_addresses, **kwargs)
        self._clients.append(client)
        return client
