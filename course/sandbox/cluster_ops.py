"""Forming, failing, repairing and growing a local cluster: what the lessons do to it.

Mixed into :class:`course.sandbox.cluster.LocalCluster`, which provides the nodes, the role
refresh and the waits. Forming, killing, restarting and failing over act on the nodes directly;
forming, adding a node and resharding can go through ``redis-cli --cluster`` as an operator would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import redis

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.cluster_health import ClusterNotReadyError, describe
from course.sandbox.cluster_view import LocalNode, split_slots

#: redis-cli colours its ``--cluster`` reports even when its output is not a terminal.
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

#: How a node is added: our own commands, or ``redis-cli --cluster add-node``.
Via = Literal["commands", "redis-cli"]


class ClusterOperations:
    """bootstrap / kill / restart / failover / add-node / reshard, for :class:`LocalCluster`."""

    if TYPE_CHECKING:  # provided by LocalCluster
        _nodes: list[LocalNode]
        _binaries: RedisBinaries | None
        _closed: bool
        _started: bool
        node_timeout_ms: int
        ready_timeout: float
        redis_cli_output: str
        bootstrap_output: str
        masters_wanted: int
        replicas_per_master: int

        def _refresh(self) -> None: ...
        def _by_id(self) -> dict[str, LocalNode]: ...
        def replicas(self) -> list[LocalNode]: ...
        def _start_node(self) -> LocalNode: ...
        def _wait(self, condition: str, timeout: float | None, done: Callable[[], bool]) -> None: ...
        def wait_ready(self, timeout: float | None = None) -> None: ...

    # -- forming the cluster ------------------------------------------------------------------------

    def _bootstrap_with_commands(self, deadline: float) -> None:
        masters = self._nodes[: self.masters_wanted]
        replicas = self._nodes[self.masters_wanted :]
        for epoch, (master, (first, last)) in enumerate(
            zip(masters, split_slots(len(masters)), strict=True), start=1
        ):
            master.command("CLUSTER", "ADDSLOTSRANGE", first, last)
            # Distinct config epochs (as redis-cli sets them): no epoch collision to resolve later.
            master.command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        # One node meets all the others; gossip then tells everybody about everybody.
        introducer = self._nodes[0]
        for other in self._nodes[1:]:
            introducer.command("CLUSTER", "MEET", other.host, other.port)
        for index, replica in enumerate(replicas):
            master = masters[index % len(masters)]
            # Meeting its master directly saves waiting for gossip before REPLICATE accepts it.
            replica.command("CLUSTER", "MEET", master.host, master.port)
            self._replicate(replica, master, deadline)

    def _replicate(self, replica: LocalNode, master: LocalNode, deadline: float) -> None:
        """CLUSTER REPLICATE, retried until the replica has heard of its master through MEET."""
        while True:
            try:
                replica.command("CLUSTER", "REPLICATE", master.node_id)
                return
            except redis.ResponseError as error:
                if "Unknown node" not in str(error):
                    raise
                if time.monotonic() > deadline:
                    reason = f"has not heard of its master {master.name} ({master.address}) through MEET"
                    raise ClusterNotReadyError(describe(replica, reason)) from error
            time.sleep(0.02)

    def _bootstrap_with_redis_cli(self, deadline: float) -> None:
        self.bootstrap_output = self.redis_cli(
            "create",
            *(node.address for node in self._nodes),
            "--cluster-replicas",
            str(self.replicas_per_master),
            timeout=max(deadline - time.monotonic(), 1.0),
        )

    def redis_cli(self, subcommand: str, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        """Run ``redis-cli --cluster SUBCOMMAND ARGS --cluster-yes``; return what it printed.

        The output (colours removed) is also kept in :attr:`redis_cli_output`. A non-zero exit
        raises :class:`ClusterNotReadyError` quoting the end of the output, unless ``check`` is
        false (``--cluster check`` exits with 1 when it finds a problem: that is its report).
        """
        binaries = self._binaries or find_redis()
        command = [str(binaries.tool("redis-cli")), "--cluster", subcommand, *args, "--cluster-yes"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        self.redis_cli_output = ANSI_COLOUR.sub("", result.stdout + result.stderr)
        if check and result.returncode != 0:
            tail = "\n".join(self.redis_cli_output.splitlines()[-20:])
            raise ClusterNotReadyError(
                f"redis-cli --cluster {subcommand} exited with {result.returncode}:\n{tail}"
            )
        return self.redis_cli_output

    # -- failures and repairs ------------------------------------------------------------------------

    def set_node_timeout(self, milliseconds: int) -> None:
        """Change ``cluster-node-timeout`` on every running node now, and for restarts and new nodes.

        The node timeout is how long a node may stay silent before the others suspect it, so it
        sets how soon a failover starts. ``CONFIG SET`` applies it without a restart.
        """
        if milliseconds <= 0:
            raise ValueError("the node timeout must be positive.")
        self.node_timeout_ms = milliseconds
        for node in self._nodes:
            # Kept in the node's config too: a restart writes its redis.conf again from it.
            node.server.config["cluster-node-timeout"] = milliseconds
            if node.running:
                node.command("CONFIG", "SET", "cluster-node-timeout", milliseconds)

    def kill(self, node: LocalNode) -> None:
        """kill -9 the node: no shutdown, no save, as a crash would."""
        self._refresh()  # remember who replicated whom, to recognise the replica that takes over
        node.server.kill()
        node.paused = False

    def pause(self, node: LocalNode) -> None:
        """SIGSTOP the node: it keeps its sockets open and answers nothing, like a hung machine or
        one cut off by a network partition. :meth:`resume` wakes it with everything it missed.

        While it is paused the cluster's own queries (roles, waits) skip it.
        """
        self._refresh()
        pid = node.server.pid
        if pid is None:
            raise ValueError(f"{node.name} is not running: there is nothing to pause.")
        os.kill(pid, signal.SIGSTOP)
        node.paused = True

    def resume(self, node: LocalNode) -> None:
        """SIGCONT a node paused with :meth:`pause`; idempotent."""
        pid = node.server.pid
        if node.paused and pid is not None:
            os.kill(pid, signal.SIGCONT)
        node.paused = False

    def restart(self, node: LocalNode, *, wait: bool = True, timeout: float | None = None) -> LocalNode:
        """Start a stopped node again (a running one is stopped first) on its directory and port.

        It reads its identity from its ``nodes.conf`` and rejoins; a master whose replica took over
        while it was down comes back as a replica of the new master.
        """
        self.resume(node)  # a stopped process would ignore the graceful stop
        node.server.restart()
        if wait:
            self.wait_ready(timeout)
        return node

    def wait_for_failover(self, old_master: LocalNode, timeout: float | None = None) -> LocalNode:
        """Wait until a replica of ``old_master`` is master and the cluster is ready; return it."""
        self._refresh()
        if old_master.role != "master":
            raise ValueError(f"{old_master.name} is a replica: only a master is failed over.")
        if not any(old_master.node_id in (node.master_id, node.promoted_from) for node in self._nodes):
            raise ValueError(f"{old_master.name} has no replica: no node can take over its slots.")

        def promoted() -> LocalNode | None:
            self._refresh()
            for node in self._nodes:
                if node.running and node.role == "master" and node.promoted_from == old_master.node_id:
                    return node
            return None

        self._wait(f"Failover of {old_master.name}", timeout, lambda: promoted() is not None)
        new_master = promoted()
        assert new_master is not None
        return new_master

    def manual_failover(self, replica: LocalNode, timeout: float | None = None) -> LocalNode:
        """``CLUSTER FAILOVER`` on ``replica``: it and its master swap roles without losing writes."""
        self._refresh()
        if replica.role != "replica":
            raise ValueError(f"{replica.name} is a {replica.role}; CLUSTER FAILOVER is sent to a replica.")
        replica.command("CLUSTER", "FAILOVER")

        def swapped() -> bool:
            self._refresh()
            return replica.role == "master"

        self._wait(f"Manual failover to {replica.name}", timeout, swapped)
        return replica

    def wait_for_replication(self, timeout: float = 10.0) -> None:
        """Wait until every running replica has processed everything its master has sent.

        Replication is asynchronous: without this, writes acknowledged just before a master is
        killed can be missing from the replica that replaces it.
        """
        self._refresh()
        by_id = self._by_id()
        deadline = time.monotonic() + timeout
        for replica in self.replicas():
            master = by_id.get(replica.master_id or "")
            if master is None or not (master.responsive and replica.responsive):
                continue
            while True:
                target = int(master.replication_info()["master_repl_offset"])
                done = int(replica.replication_info().get("slave_repl_offset", -1))
                if done >= target:
                    break
                if time.monotonic() > deadline:
                    raise ClusterNotReadyError(
                        f"{replica.name} processed offset {done} of {target} within {timeout:.1f} s."
                    )
                time.sleep(0.01)

    # -- growing and resharding ----------------------------------------------------------------------

    def add_node(
        self, replica_of: LocalNode | None = None, *, via: Via = "commands", timeout: float | None = None
    ) -> LocalNode:
        """Start a new node and join it: as an empty master, or as a replica of ``replica_of``.

        ``via="redis-cli"`` joins it with ``redis-cli --cluster add-node`` (its report is then in
        :attr:`redis_cli_output`) instead of sending ``CLUSTER MEET`` / ``REPLICATE`` ourselves.
        """
        if self._closed or not self._started:
            raise RuntimeError("Start the cluster before adding nodes.")
        if via not in ("commands", "redis-cli"):
            raise ValueError(f"via must be 'commands' or 'redis-cli', not {via!r}.")
        deadline = time.monotonic() + (self.ready_timeout if timeout is None else timeout)
        node = self._start_node()
        if via == "redis-cli":
            running = [other for other in self._nodes if other is not node and other.running]
            existing = replica_of or running[0]
            replica_args: tuple[str, ...] = ()
            if replica_of is not None:
                replica_args = ("--cluster-slave", "--cluster-master-id", replica_of.node_id)
            left = max(deadline - time.monotonic(), 1.0)
            self.redis_cli("add-node", node.address, existing.address, *replica_args, timeout=left)
            self.wait_ready(max(deadline - time.monotonic(), 0.0))
            return node
        # The newcomer meets every running node itself: it knows them all at once, without
        # waiting for gossip, so CLUSTER REPLICATE finds its master quickly.
        for other in self._nodes:
            if other is not node and other.running:
                node.command("CLUSTER", "MEET", other.host, other.port)
        if replica_of is not None:
            self._replicate(node, replica_of, deadline)
        self.wait_ready(max(deadline - time.monotonic(), 0.0))
        return node

    def move_slots(
        self, source: LocalNode, target: LocalNode, count: int, *, timeout: float | None = None
    ) -> list[int]:
        """Move ``count`` slots with their keys from ``source`` to ``target`` with ``redis-cli
        --cluster reshard`` (it takes the source's lowest slots); return the slots moved.

        redis-cli's report is kept in :attr:`redis_cli_output`. Moving slots by hand, step by step,
        is what the lesson teaches: the sandbox only ever asks redis-cli.
        """
        self._refresh()
        for node in (source, target):
            if node.role != "master" or not node.running:
                raise ValueError(f"{node.name} must be a running master to take part in a move.")
        before = self._owned_slots(source)
        if not 0 < count <= len(before):
            raise ValueError(f"{source.name} has {len(before)} slots; cannot move {count}.")
        self.redis_cli(
            "reshard",
            source.address,
            "--cluster-from",
            source.node_id,
            "--cluster-to",
            target.node_id,
            "--cluster-slots",
            str(count),
            timeout=self.ready_timeout if timeout is None else timeout,
        )
        self.wait_ready(timeout)
        return sorted(before - self._owned_slots(source))

    @staticmethod
    def _owned_slots(node: LocalNode) -> set[int]:
        entry = next(entry for entry in node.view() if entry.myself)
        return {slot for first, last in entry.slots for slot in range(first, last + 1)}
