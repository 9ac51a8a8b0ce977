"""A local Redis Cluster made of sandboxed redis-server processes.

``LocalCluster`` is a plain object and a context manager::

    with LocalCluster(masters=3, replicas_per_master=1) as cluster:
        rc = cluster.client()                 # a redis-py RedisCluster
        rc.set("user:1", "Ada")
        old = cluster.node_for_key("user:1")
        cluster.kill(old)                      # kill -9, as a crash would
        new = cluster.wait_for_failover(old)   # its replica took over
        cluster.restart(old)                   # comes back as a replica of ``new``
        extra = cluster.add_node(via="redis-cli")          # redis-cli --cluster add-node
        cluster.move_slots(new, extra, 100, via="redis-cli")  # redis-cli --cluster reshard

Growing and resharding work with our own commands (the default) or through ``redis-cli
--cluster``, whose last report stays in ``redis_cli_output``. ``set_node_timeout`` changes how soon
failures are detected, on the running nodes at once. ``start_lone_node`` starts a single
cluster-enabled server that has met nobody (for ``CLUSTER KEYSLOT`` or a cluster built by hand).
A cluster still open when the interpreter exits is killed then, before the sandbox stops single
servers gracefully.

Every node is a :class:`course.servers.RedisServer`, so each has its own directory, a claimed
client port *and* cluster bus port, dies with the kernel and is swept like any sandbox server.

"Ready" means: every running node reports ``cluster_state:ok``, knows every other running node
over a connected link without flagging it as failing, sees the same roles and slot map as the
others, and every running replica reports ``master_link_status:up``. A cluster that does not get
there in time raises :class:`ClusterNotReadyError` quoting the failing node's state and the tail
of its log.

Nodes are started from the calling thread on purpose: Linux sends the parent-death signal when the
*thread* that forked a server exits, so a server started from a worker thread would die with it.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import pandas as pd
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode as StartupNode
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.retry import Retry

from course.binaries import RedisBinaries, find_redis
from course.lifecycle import Managed
from course.servers import Config, ConfigValue, RedisServer
from course.settings import CLUSTER_BUS_OFFSET

Role = Literal["master", "replica"]
Bootstrap = Literal["commands", "redis-cli"]
#: How a node is added or slots are moved: our own commands, or ``redis-cli --cluster``.
Via = Literal["commands", "redis-cli"]
#: A node's view reduced to what all nodes must agree on: (id, role, master id, slot ranges).
SlotMap = frozenset[tuple[str, Role, str | None, tuple[tuple[int, int], ...]]]

TOTAL_SLOTS = 16384
NODES_FILE = "nodes.conf"

#: Directives the cluster sets itself; the node timeout has its own parameter.
CLUSTER_OWNED = frozenset({"cluster-enabled", "cluster-config-file", "cluster-node-timeout", "cluster-port"})

#: Flags under which a node that is actually running does not count as healthy yet.
UNHEALTHY_FLAGS = frozenset({"fail", "fail?", "handshake", "noaddr"})

POLL_SECONDS = 0.05
MIGRATE_BATCH = 100
MIGRATE_TIMEOUT_MS = 5000
#: redis-cli colours its ``--cluster`` reports even when its output is not a terminal.
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

#: Clusters not closed yet: closed at exit before the servers' own (graceful) clean-up runs.
_open_clusters: weakref.WeakSet[LocalCluster] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Registered after course.servers' handler, so it runs first (atexit is last in, first out):
    # killing the nodes beats stopping them one by one, a master waiting for its replicas each time.
    for cluster in list(_open_clusters):
        cluster.close()


class ClusterNotReadyError(RuntimeError):
    """The cluster did not reach the expected state in time; the message says which node and why."""


# -- CLUSTER NODES, parsed ------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeEntry:
    """One line of ``CLUSTER NODES``: what the answering node believes about one node."""

    node_id: str
    host: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    link_state: str
    slots: tuple[tuple[int, int], ...]  # inclusive ranges, in the order the node lists them

    @property
    def role(self) -> Role:
        return "replica" if "slave" in self.flags else "master"

    @property
    def myself(self) -> bool:
        return "myself" in self.flags

    @property
    def slot_count(self) -> int:
        return sum(last - first + 1 for first, last in self.slots)

    def owns(self, slot: int) -> bool:
        return any(first <= slot <= last for first, last in self.slots)

    @property
    def slot_ranges(self) -> str:
        """``"0-5460 7000"``: the ranges as ``CLUSTER NODES`` writes them."""
        return " ".join(str(first) if first == last else f"{first}-{last}" for first, last in self.slots)


def parse_cluster_nodes(text: str) -> list[NodeEntry]:
    """Parse the reply of ``CLUSTER NODES`` (one node per line)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, address, flags, master, _ping, _pong, _epoch, link_state, *slot_fields = fields
        # "127.0.0.1:7000@17000,hostname": a node that has met nobody yet has an empty host.
        host, _, port_and_bus = address.split(",")[0].rpartition(":")
        slots = []
        for field in slot_fields:
            if field.startswith("["):
                continue  # "[slot->-id]" / "[slot-<-id]": a migration in progress, not ownership
            first, _, last = field.partition("-")
            slots.append((int(first), int(last or first)))
        entries.append(
            NodeEntry(
                node_id=node_id,
                host=host,
                port=int(port_and_bus.split("@")[0]),
                flags=frozenset(flags.split(",")),
                master_id=None if master == "-" else master,
                link_state=link_state,
                slots=tuple(slots),
            )
        )
    return entries


def parse_info_text(text: str) -> dict[str, str]:
    """``key:value`` lines (``CLUSTER INFO``) as a dict."""
    pairs = (line.partition(":") for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, _, value in pairs}


def split_slots(masters: int) -> list[tuple[int, int]]:
    """Even slot ranges, one per master.

    Boundaries are rounded to the nearest slot: the layout ``redis-cli --cluster create`` makes
    (0-5460, 5461-10922, 10923-16383 for three masters), so both bootstraps give the same map.
    """
    # round(TOTAL * (i + 1) / masters) in integers, halves rounded up.
    ends = [(2 * TOTAL_SLOTS * (i + 1) + masters) // (2 * masters) for i in range(masters)]
    starts = [0, *ends[:-1]]
    return [(start, end - 1) for start, end in zip(starts, ends, strict=True)]


def start_lone_node(config: Config | None = None, *, name: str = "lone-node") -> RedisServer:
    """A cluster-enabled server that has met nobody and serves no slot yet.

    Enough for ``CLUSTER KEYSLOT``, and the material for a cluster built by hand with
    ``CLUSTER ADDSLOTS`` / ``MEET`` / ``REPLICATE``. Close it like any :class:`RedisServer`.
    """
    settings: dict[str, ConfigValue] = {"cluster-enabled": "yes", **(config or {})}
    server = RedisServer(settings, name=name, port_offsets=(CLUSTER_BUS_OFFSET,))
    return server.start()


# -- one node -------------------------------------------------------------------------------------


class LocalNode:
    """One member of a :class:`LocalCluster`: its server, its id and its last known role.

    ``role``, ``master_id`` and ``promoted_from`` are refreshed by the cluster (its ``nodes``,
    ``masters()``, ``replicas()`` and every wait); ``node_id`` never changes.
    """

    def __init__(self, name: str, server: RedisServer) -> None:
        self.name = name
        self.server = server
        self.role: Role = "master"
        self.master_id: str | None = None
        #: While this node is a master: id of the master it replaced, if it got there by failover.
        self.promoted_from: str | None = None
        # Admin connections fail fast: one reconnect attempt, no backoff. redis-py's default retry
        # backs off for seconds, which would stall every poll of a node that was just killed.
        admin_options: dict[str, Any] = {"protocol": 2, "socket_timeout": 2, "retry": Retry(NoBackoff(), 1)}
        self._admin = server.client(decode_responses=True, **admin_options)
        self._raw_admin = server.client(decode_responses=False, **admin_options)  # key names are bytes
        self.node_id: str = self.command("CLUSTER", "MYID")

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def running(self) -> bool:
        return self.server.running

    def command(self, *args: Any) -> Any:
        """Send one command to this node (text replies decoded)."""
        return self._admin.execute_command(*args)

    def raw_command(self, *args: Any) -> Any:
        """Send one command and get bytes back (key names need not be UTF-8)."""
        return self._raw_admin.execute_command(*args)

    def view(self) -> list[NodeEntry]:
        """This node's ``CLUSTER NODES``, parsed."""
        return parse_cluster_nodes(self.command("CLUSTER", "NODES"))

    def cluster_info(self) -> dict[str, str]:
        return parse_info_text(self.command("CLUSTER", "INFO"))

    def replication_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._admin.info("replication")
        return info

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain (non-cluster) client for this one node, e.g. to send READONLY to a replica."""
        kwargs.setdefault("decode_responses", True)
        return self.server.client(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "down"
        return f"<LocalNode {self.name} {self.role} {self.server.address} id={self.node_id[:8]} {state}>"


# -- the cluster ----------------------------------------------------------------------------------


class LocalCluster(Managed):
    """``masters`` masters with ``replicas_per_master`` replicas each, on loopback."""

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
        self._started = False
        self._closed = False

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start every node, form the cluster and wait until it is ready; idempotent."""
        if self._closed:
            raise RuntimeError("This cluster was closed; create a new LocalCluster.")
        if self._started:
            return self
        self._started = True
        _open_clusters.add(self)
        total = self.masters_wanted * (1 + self.replicas_per_master)
        try:
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
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every node and delete its directory; idempotent."""
        if self._closed:
            return
        self._closed = True
        _open_clusters.discard(self)
        while self._clients:
            with contextlib.suppress(Exception):
                self._clients.pop().close()
        # SIGKILL rather than a graceful shutdown: the files are deleted next, so there is nothing
        # to save, and a master would otherwise wait for its replicas to catch up first.
        for server in self._servers:
            with contextlib.suppress(Exception):
                server.kill()
        for server in self._servers:
            with contextlib.suppress(Exception):
                server.close()

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
                    raise ClusterNotReadyError(self._describe(replica, reason)) from error
            time.sleep(0.02)

    def _bootstrap_with_redis_cli(self, deadline: float) -> None:
        self.bootstrap_output = self.redis_cli(
            "create",
            *(node.address for node in self._nodes),
            "--cluster-replicas",
            str(self.replicas_per_master),
            timeout=max(deadline - time.monotonic(), 1.0),
        )

    def redis_cli(self, subcommand: str, *args: str, timeout: float = 60.0) -> str:
        """Run ``redis-cli --cluster SUBCOMMAND ARGS --cluster-yes``; return what it printed.

        The output (colours removed) is also kept in :attr:`redis_cli_output`. A non-zero exit
        raises :class:`ClusterNotReadyError` quoting the end of the output.
        """
        binaries = self._binaries or find_redis()
        command = [str(binaries.tool("redis-cli")), "--cluster", subcommand, *args, "--cluster-yes"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        self.redis_cli_output = ANSI_COLOUR.sub("", result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join(self.redis_cli_output.splitlines()[-20:])
            raise ClusterNotReadyError(
                f"redis-cli --cluster {subcommand} exited with {result.returncode}:\n{tail}"
            )
        return self.redis_cli_output

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
        """Update every node's role: a running node says it itself, a dead one is as others see it."""
        others_view: list[NodeEntry] = []
        told: set[str] = set()
        for node in self._nodes:
            if not node.running:
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
        candidates = sorted((n for n in self._nodes if n.running), key=lambda n: n.role != "master")
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
        by_id = self._by_id()
        names = {
            entry.node_id: by_id[entry.node_id].name if entry.node_id in by_id else "?" for entry in view
        }
        first_slot = {entry.node_id: entry.slots[0][0] if entry.slots else TOTAL_SLOTS for entry in view}

        def order(entry: NodeEntry) -> tuple[int, str, str, int]:
            # Groups in slot order (empty masters last), each master before its replicas.
            group = entry.master_id if entry.role == "replica" and entry.master_id else entry.node_id
            return first_slot.get(group, TOTAL_SLOTS), names.get(group, ""), entry.role, entry.port

        rows = [
            {
                "node": names[entry.node_id],
                "id": entry.node_id,
                "address": f"{entry.host}:{entry.port}",
                "port": entry.port,
                "role": entry.role,
                "flags": ",".join(sorted(entry.flags)),
                "master_id": entry.master_id or "",
                "master": names.get(entry.master_id, "?") if entry.master_id else "",
                "link_state": entry.link_state,
                "slots": entry.slot_count,
                "slot_ranges": entry.slot_ranges,
            }
            for entry in sorted(view, key=order)
        ]
        return pd.DataFrame(rows)

    # -- readiness -----------------------------------------------------------------------------------

    def _readiness_problem(self) -> tuple[LocalNode | None, str] | None:
        """``None`` when ready, else the first node found not ready and what is wrong with it."""
        running = [node for node in self._nodes if node.running]
        if not running:
            return None, "no node is running"
        reference: tuple[LocalNode, SlotMap] | None = None
        for node in running:
            try:
                reason, slot_map = self._node_problem(node, running)
            except redis.RedisError as error:
                return node, f"does not answer ({error})"
            if reason is None and reference is not None and slot_map != reference[1]:
                reason = f"sees other roles or another slot map than {reference[0].name}"
            if reason is not None:
                return node, reason
            reference = reference or (node, slot_map)
        # Running nodes may all say "ok" while a master that was just killed still owns slots:
        # they have not noticed yet. Its slots are not served, so the cluster is not ready.
        assert reference is not None
        running_ids = {node.node_id for node in running}
        by_id = self._by_id()
        for node_id, _role, _master_id, slots in reference[1]:
            if slots and node_id not in running_ids:
                count = sum(last - first + 1 for first, last in slots)
                return by_id.get(node_id), f"is not running but still owns {count} slots"
        return None

    def _node_problem(self, node: LocalNode, running: list[LocalNode]) -> tuple[str | None, SlotMap]:
        """What keeps one node from being ready (``None`` if nothing), and its view of the map."""
        state = node.cluster_info().get("cluster_state")
        view = node.view()
        names = {member.node_id: member.name for member in running}
        # Roles and slots only (flags such as myself or fail? and timings differ from node to node),
        # and only of running nodes or nodes with slots: Redis does not gossip about a dead node
        # without slots, so a node that joined after it died never hears of it.
        slot_map = frozenset(
            (entry.node_id, entry.role, entry.master_id, entry.slots)
            for entry in view
            if entry.node_id in names or entry.slots
        )
        if state != "ok":
            return f"reports cluster_state:{state}", slot_map
        known = {entry.node_id for entry in view}
        missing = [name for node_id, name in names.items() if node_id not in known]
        if missing:
            return f"does not know {', '.join(missing)} yet", slot_map
        if known - {member.node_id for member in self._nodes}:
            return "is still in a handshake with a node it has not identified", slot_map
        for entry in view:
            if entry.node_id not in names or entry.myself:
                continue
            unhealthy = sorted(entry.flags & UNHEALTHY_FLAGS)
            if entry.link_state != "connected":
                unhealthy.append("disconnected")
            if unhealthy:
                return f"still sees {names[entry.node_id]} as {','.join(unhealthy)}", slot_map
        me = next(entry for entry in view if entry.myself)
        if me.role == "replica":
            link = node.replication_info().get("master_link_status")
            if link != "up":
                return f"is a replica whose master link is {link}", slot_map
        return None, slot_map

    def _describe(self, node: LocalNode | None, reason: str) -> str:
        if node is None:
            return reason
        lines = [f"{node.name} ({node.address}) {reason}."]
        try:
            info = node.cluster_info()
            keys = ("cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_known_nodes")
            lines.append("Its CLUSTER INFO: " + ", ".join(f"{key}:{info.get(key)}" for key in keys))
            lines.append("Its CLUSTER NODES:\n" + str(node.command("CLUSTER", "NODES")).rstrip())
        except redis.RedisError as error:
            lines.append(f"It does not answer: {error}")
        lines.append(f"Its log ({node.server.log_path}) ends with:\n{node.server.log_tail(15)}")
        return "\n".join(lines)

    def _wait(self, condition: str, timeout: float | None, done: Callable[[], bool]) -> None:
        """Poll until ``done()`` holds and the cluster is ready, or raise with the reason."""
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            problem = self._readiness_problem()
            if problem is None and done():
                self._refresh()
                return
            if time.monotonic() >= deadline:
                detail = self._describe(*problem) if problem else f"{condition} did not happen"
                raise ClusterNotReadyError(f"{condition}: not done after {limit:.1f} s.\n{detail}")
            time.sleep(POLL_SECONDS)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the cluster is ready (see the module docstring), or raise ClusterNotReadyError."""
        self._wait("Cluster ready", timeout, lambda: True)

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
            if master is None or not master.running:
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

    def restart(self, node: LocalNode, *, wait: bool = True, timeout: float | None = None) -> LocalNode:
        """Start a stopped node again (a running one is stopped first) on its directory and port.

        It reads its identity from its ``nodes.conf`` and rejoins; a master whose replica took over
        while it was down comes back as a replica of the new master.
        """
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
        self,
        source: LocalNode,
        target: LocalNode,
        count_or_slots: int | Iterable[int],
        *,
        via: Via = "commands",
        timeout: float | None = None,
    ) -> list[int]:
        """Move slots, with their keys, from master ``source`` to master ``target``; return them.

        An int moves that many of the source's lowest slots. Each slot goes through the same steps
        as ``redis-cli --cluster reshard``: IMPORTING on the target, MIGRATING on the source, the
        keys copied over with MIGRATE, then SETSLOT NODE on the target, the source and every other
        master. Clients meanwhile get ASK redirections for keys already moved.

        ``via="redis-cli"`` runs ``redis-cli --cluster reshard`` instead (a count only: redis-cli
        picks the slots, the source's lowest ones); its report is then in :attr:`redis_cli_output`.
        """
        self._refresh()
        for node in (source, target):
            if node.role != "master" or not node.running:
                raise ValueError(f"{node.name} must be a running master to take part in a move.")
        if via not in ("commands", "redis-cli"):
            raise ValueError(f"via must be 'commands' or 'redis-cli', not {via!r}.")
        owned = next(entry for entry in source.view() if entry.myself)
        slots = self._slots_to_move(source, owned, count_or_slots)
        if via == "redis-cli":
            if not isinstance(count_or_slots, int):
                raise ValueError("redis-cli --cluster reshard moves a number of slots, not a list.")
            return self._reshard_with_redis_cli(source, target, len(slots), timeout)
        others = [node for node in self.masters() if node not in (source, target)]
        for slot in slots:
            target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
            source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
            self._migrate_keys(source, target, slot)
            # The target first, so it serves the slot before the source starts redirecting there.
            for node in (target, source, *others):
                node.command("CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
        self.wait_ready(timeout)
        return slots

    def _reshard_with_redis_cli(
        self, source: LocalNode, target: LocalNode, count: int, timeout: float | None
    ) -> list[int]:
        def owned_by_source() -> set[int]:
            entry = next(entry for entry in source.view() if entry.myself)
            return {slot for first, last in entry.slots for slot in range(first, last + 1)}

        before = owned_by_source()
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
        return sorted(before - owned_by_source())

    @staticmethod
    def _slots_to_move(source: LocalNode, owned: NodeEntry, count_or_slots: int | Iterable[int]) -> list[int]:
        available = [slot for first, last in owned.slots for slot in range(first, last + 1)]
        if isinstance(count_or_slots, int):
            if not 0 < count_or_slots <= len(available):
                raise ValueError(f"{source.name} has {len(available)} slots; cannot move {count_or_slots}.")
            return sorted(available)[:count_or_slots]
        slots = sorted(set(count_or_slots))
        foreign = sorted(set(slots) - set(available))
        if foreign:
            raise ValueError(f"{source.name} does not serve slots {foreign[:10]}.")
        return slots

    @staticmethod
    def _migrate_keys(source: LocalNode, target: LocalNode, slot: int) -> None:
        while True:
            keys: Sequence[bytes] = source.raw_command("CLUSTER", "GETKEYSINSLOT", slot, MIGRATE_BATCH)
            if not keys:
                return
            # Empty key + KEYS: move a batch in one round trip; database 0 is the only one a cluster has.
            source.raw_command("MIGRATE", target.host, target.port, "", 0, MIGRATE_TIMEOUT_MS, "KEYS", *keys)

    # -- clients ---------------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> RedisCluster:
        """A redis-py ``RedisCluster`` (``decode_responses=True`` unless overridden), closed with us."""
        kwargs.setdefault("decode_responses", True)
        # Every running node is a way in, so the client connects even while some node is down.
        startup = [StartupNode(node.host, node.port) for node in self._nodes if node.running]
        client = RedisCluster(startup_nodes=startup, **kwargs)
        self._clients.append(client)
        return client
