"""A local Redis Cluster made of sandboxed redis-server processes.

``LocalCluster`` is a plain object and a context manager::

    with LocalCluster(masters=3, replicas_per_master=1) as cluster:
        rc = cluster.client()                 # a redis-py RedisCluster
        rc.set("user:1", "Ada")
        old = cluster.node_for_key("user:1")
        cluster.kill(old)                      # kill -9, as a crash would
        new = cluster.wait_for_failover(old)   # its replica took over
        cluster.restart(old)                   # comes back as a replica of ``new``
        extra = cluster.add_node(via="redis-cli")  # redis-cli --cluster add-node
        cluster.move_slots(new, extra, 100)        # redis-cli --cluster reshard
        cluster.rebalance({extra: 0.5})            # redis-cli --cluster rebalance
        print(cluster.check())                     # redis-cli --cluster check

Nodes join with our own commands (the default) or through ``redis-cli --cluster add-node``;
slots move only through ``redis-cli --cluster reshard``, ``fix`` or ``rebalance`` (moving them by
hand is an exercise). ``check``, ``fix``, ``rebalance`` and ``remove_node`` (``del-node``) are in
:mod:`course.sandbox.cluster_admin`; ``pause`` / ``resume`` freeze a node with SIGSTOP / SIGCONT.
redis-cli's last report stays in ``redis_cli_output``. ``set_node_timeout`` changes how soon
failures are detected, on the running nodes at once. ``start_lone_node`` starts a single
cluster-enabled server that has met nobody (for ``CLUSTER KEYSLOT`` or a cluster built by hand).
A cluster still open when the interpreter exits is killed then, before the sandbox stops single
servers gracefully.

Every node is a :class:`course.sandbox.servers.RedisServer`, so each has its own directory, a claimed
client port *and* cluster bus port, dies with the kernel and is swept like any sandbox server.

"Ready" is defined in :mod:`course.sandbox.cluster_health`. A cluster that does not get there in
time raises :class:`ClusterNotReadyError` quoting the failing node's state and the tail of its log.

Nodes are started from the calling thread on purpose: Linux sends the parent-death signal when the
*thread* that forked a server exits, so a server started from a worker thread would die with it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
import redis
from redis.cluster import ClusterNode as StartupNode
from redis.cluster import RedisCluster
from redis.crc import key_slot

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.cluster_admin import ClusterAdmin
from course.sandbox.cluster_health import ClusterNotReadyError, describe, readiness_problem
from course.sandbox.cluster_ops import ClusterOperations, Via
from course.sandbox.cluster_view import TOTAL_SLOTS, LocalNode, NodeEntry, Role, nodes_frame
from course.sandbox.lifecycle import Group, close_quietly, kill_and_close
from course.sandbox.servers import Config, ConfigValue, RedisServer
from course.settings import CLUSTER_BUS_OFFSET

__all__ = ["ClusterNotReadyError", "LocalCluster", "LocalNode", "NodeEntry", "Via", "start_lone_node"]

Bootstrap = Literal["commands", "redis-cli"]

NODES_FILE = "nodes.conf"

#: Directives the cluster sets itself; the node timeout has its own parameter.
CLUSTER_OWNED = frozenset({"cluster-enabled", "cluster-config-file", "cluster-node-timeout", "cluster-port"})

POLL_SECONDS = 0.05
MAX_PROBLEMS_QUOTED = 5


def start_lone_node(config: Config | None = None, *, name: str = "lone-node") -> RedisServer:
    """A cluster-enabled server that has met nobody and serves no slot yet.

    Enough for ``CLUSTER KEYSLOT``, and the material for a cluster built by hand with
    ``CLUSTER ADDSLOTS`` / ``MEET`` / ``REPLICATE``. Close it like any :class:`RedisServer`.
    """
    settings: dict[str, ConfigValue] = {"cluster-enabled": "yes", **(config or {})}
    server = RedisServer(settings, name=name, port_offsets=(CLUSTER_BUS_OFFSET,))
    try:
        return server.start()
    except BaseException:
        server.close()  # a server that never started leaves no directory behind
        raise


# -- the cluster ----------------------------------------------------------------------------------


class LocalCluster(ClusterOperations, ClusterAdmin, Group):
    """``masters`` masters with ``replicas_per_master`` replicas each, on loopback."""

    what = "cluster"

    def __init__(
        self,
        masters: int = 3,
        replicas_per_master: int = 1,
        *,
        node_timeout_ms: int = 1000,
        config: Config | None = None,
        bootstrap: Bootstrap = "commands",
        ready_timeout: float = 30.0,
    ) -> None:
        if masters < 1 or replicas_per_master < 0:
            raise ValueError("A cluster needs at least one master and zero or more replicas per master.")
        if bootstrap not in ("commands", "redis-cli"):
            raise ValueError(f"bootstrap must be 'commands' or 'redis-cli', not {bootstrap!r}.")
        if bootstrap == "redis-cli" and masters < 3:
            raise ValueError("redis-cli --cluster create needs at least 3 masters.")
        if node_timeout_ms <= 0:
            raise ValueError("node_timeout_ms must be positive.")
        owned = CLUSTER_OWNED.intersection(config or {})
        if owned:
            raise ValueError(
                f"The cluster sets {', '.join(sorted(owned))} itself "
                "(use node_timeout_ms for the node timeout); remove it from the config."
            )
        self.masters_wanted = masters
        self.replicas_per_master = replicas_per_master
        self.node_timeout_ms = node_timeout_ms
        self.bootstrap = bootstrap
        self.ready_timeout = ready_timeout
        self.config: dict[str, ConfigValue] = dict(config or {})
        #: What ``redis-cli --cluster create`` printed (empty with the commands bootstrap).
        self.bootstrap_output = ""
        #: What the last ``redis-cli --cluster`` command run by this cluster printed, colours removed.
        self.redis_cli_output = ""
        self._binaries: RedisBinaries | None = None
        self._servers: list[RedisServer] = []  # every server ever started, for close()
        self._nodes: list[LocalNode] = []
        self._clients: list[RedisCluster] = []
        super().__init__()

    # -- life cycle --------------------------------------------------------------------------------

    def _start_members(self) -> None:
        """Start every node, form the cluster and wait until it is ready."""
        total = self.masters_wanted * (1 + self.replicas_per_master)
        self._binaries = find_redis()
        # Masters first: each master waits 2 s after it starts before it reports "ok",
        # so the earlier they start, the earlier the whole cluster is ready.
        for _ in range(total):
            self._start_node()
        deadline = time.monotonic() + self.ready_timeout
        if self.bootstrap == "commands":
            self._bootstrap_with_commands(deadline)
        else:
            self._bootstrap_with_redis_cli(deadline)
        self.wait_ready(max(deadline - time.monotonic(), 0.0))

    def _close_members(self) -> None:
        close_quietly(self._clients)
        kill_and_close(self._servers)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{sum(n.running for n in self._nodes)} nodes running"
        return f"<LocalCluster {self.masters_wanted} masters x {self.replicas_per_master} replicas, {state}>"

    # -- starting nodes ----------------------------------------------------------------------------

    def _node_config(self, server: RedisServer) -> dict[str, ConfigValue]:
        settings: dict[str, ConfigValue] = {
            # A replica's first sync starts at once instead of waiting 5 s for other replicas,
            # and streams the snapshot over the socket instead of writing it to disk first.
            "repl-diskless-sync": "yes",
            "repl-diskless-sync-delay": 0,
        }
        settings.update(self.config)
        settings.update(
            {
                "cluster-enabled": "yes",
                # Failure detection (and so failover) takes about this long: the 15 s default
                # is too slow for a lesson.
                "cluster-node-timeout": self.node_timeout_ms,
                # Absolute, inside the node's own directory: a restart finds its identity there.
                "cluster-config-file": server.dir / NODES_FILE,
            }
        )
        return settings

    def _start_node(self) -> LocalNode:
        index = len(self._servers)
        server = RedisServer(
            name=f"cluster-node-{index}",
            binaries=self._binaries,
            # The bus listens on port + 10000 (Redis's fixed offset): claim it with the port.
            port_offsets=(CLUSTER_BUS_OFFSET,),
        )
        self._servers.append(server)
        server.config.update(self._node_config(server))
        server.start()  # from the calling thread: see the module docstring
        node = LocalNode(f"node-{index}", server)
        self._nodes.append(node)
        return node

    # -- who is who ----------------------------------------------------------------------------------

    def _by_id(self) -> dict[str, LocalNode]:
        return {node.node_id: node for node in self._nodes}

    def _set_role(self, node: LocalNode, role: Role, master_id: str | None) -> None:
        if node.role == "replica" and role == "master":
            node.promoted_from = node.master_id
        elif role == "replica":
            node.promoted_from = None
        node.role, node.master_id = role, master_id

    def _refresh(self) -> None:
        """Update every node's role: a responsive node says it itself, others are as it sees them."""
        others_view: list[NodeEntry] = []
        told: set[str] = set()
        for node in self._nodes:
            if not node.responsive:
                continue
            try:
                view = node.view()
            except redis.RedisError:
                continue
            me = next(entry for entry in view if entry.myself)
            self._set_role(node, me.role, me.master_id)
            told.add(node.node_id)
            others_view = others_view or view
        by_id = self._by_id()
        for entry in others_view:
            if entry.node_id in by_id and entry.node_id not in told:
                self._set_role(by_id[entry.node_id], entry.role, entry.master_id)

    @property
    def nodes(self) -> list[LocalNode]:
        """Every node this cluster started (running or not), roles refreshed."""
        self._refresh()
        return list(self._nodes)

    def masters(self) -> list[LocalNode]:
        """Running nodes that are masters now."""
        return [node for node in self.nodes if node.running and node.role == "master"]

    def replicas(self) -> list[LocalNode]:
        """Running nodes that are replicas now."""
        return [node for node in self.nodes if node.running and node.role == "replica"]

    def replicas_of(self, master: LocalNode) -> list[LocalNode]:
        """Running replicas of ``master`` now."""
        return [node for node in self.replicas() if node.master_id == master.node_id]

    def _reference_view(self) -> list[NodeEntry]:
        """The slot map as a running node sees it (masters first: they are told of changes first)."""
        candidates = sorted((n for n in self._nodes if n.responsive), key=lambda n: n.role != "master")
        for node in candidates:
            with contextlib.suppress(redis.RedisError):
                return node.view()
        raise ClusterNotReadyError("No node of the cluster is running.")

    def node_for_slot(self, slot: int) -> LocalNode:
        """The master serving ``slot``."""
        if not 0 <= slot < TOTAL_SLOTS:
            raise ValueError(f"A slot is between 0 and {TOTAL_SLOTS - 1}, not {slot}.")
        for entry in self._reference_view():
            if entry.role == "master" and entry.owns(slot):
                return self._by_id()[entry.node_id]
        raise LookupError(f"No master serves slot {slot}.")

    def node_for_key(self, key: str | bytes) -> LocalNode:
        """The master serving the slot of ``key`` (hash tags included)."""
        return self.node_for_slot(key_slot(key.encode() if isinstance(key, str) else key))

    def slot_counts(self) -> dict[str, int]:
        """``{node name: number of slots}`` for every master that is not failed."""
        by_id = self._by_id()
        counts = {
            entry.node_id: entry.slot_count
            for entry in self._reference_view()
            if entry.role == "master" and "fail" not in entry.flags
        }
        return {node.name: counts[node.node_id] for node in by_id.values() if node.node_id in counts}

    def nodes_table(self, seen_from: LocalNode | None = None) -> pd.DataFrame:
        """``CLUSTER NODES`` as a table, one row per node, masters each followed by their replicas.

        ``seen_from`` picks the node whose view is shown (by default a running master).
        """
        view = seen_from.view() if seen_from is not None else self._reference_view()
        return nodes_frame(view, {node.node_id: node.name for node in self._nodes})

    # -- readiness -----------------------------------------------------------------------------------

    def _wait(self, condition: str, timeout: float | None, done: Callable[[], bool]) -> None:
        """Poll until ``done()`` holds and the cluster is ready, or raise with the reason."""
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        seen: dict[str, None] = {}  # every distinct problem, in order: the last one may not be the cause
        while True:
            problem = readiness_problem(self._nodes)
            if problem is None and done():
                self._refresh()
                return
            if problem is not None:
                seen.setdefault(f"{problem[0].name if problem[0] else 'The cluster'} {problem[1]}.")
            if time.monotonic() >= deadline:
                detail = describe(*problem) if problem else f"{condition} did not happen"
                earlier = "".join(f"\n  {line}" for line in list(seen)[:MAX_PROBLEMS_QUOTED])
                raise ClusterNotReadyError(
                    f"{condition}: not done after {limit:.1f} s.\n{detail}\nSeen while waiting:{earlier}"
                )
            time.sleep(POLL_SECONDS)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the cluster is ready (see the module docstring), or raise ClusterNotReadyError."""
        self._wait("Cluster ready", timeout, lambda: True)

    # -- clients ---------------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> RedisCluster:
        """A redis-py ``RedisCluster`` (``decode_responses=True`` unless overridden), closed with us."""
        kwargs.setdefault("decode_responses", True)
        # Every running node is a way in, so the client connects even while some node is down.
        startup = [StartupNode(node.host, node.port) for node in self._nodes if node.responsive]
        client = RedisCluster(startup_nodes=startup, **kwargs)
        self._clients.append(client)
        return client
