"""What one cluster node says about the cluster: ``CLUSTER NODES`` and ``CLUSTER INFO``, typed.

Parsing is redis-py's own (``Redis.cluster("nodes")``); :class:`NodeEntry` only gives its dicts
the names and types the sandbox compares. :class:`LocalNode` is one member of a
:class:`course.sandbox.cluster.LocalCluster`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.servers import RedisServer

Role = Literal["master", "replica"]
#: A node's view reduced to what all nodes must agree on: (id, role, master id, slot ranges).
SlotMap = frozenset[tuple[str, Role, str | None, tuple[tuple[int, int], ...]]]

TOTAL_SLOTS = 16384


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

    @classmethod
    def from_redis_py(cls, address: str, fields: Mapping[str, Any]) -> NodeEntry:
        """One item of redis-py's parsed ``CLUSTER NODES`` reply (``{"ip:port": {...}}``)."""
        host, _, port = address.rpartition(":")
        slots = tuple((int(item[0]), int(item[-1])) for item in fields["slots"])
        master = fields["master_id"]
        return cls(
            node_id=fields["node_id"],
            host=host,
            port=int(port or 0),
            flags=frozenset(str(fields["flags"]).split(",")),
            master_id=None if master == "-" else master,
            link_state="connected" if fields["connected"] else "disconnected",
            slots=slots,
        )

    @property
    def role(self) -> Role:
        # Redis and Valkey still write "slave"; "replica" is accepted should a build write that.
        return "replica" if self.flags & {"slave", "replica"} else "master"

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


def nodes_frame(view: list[NodeEntry], names: Mapping[str, str]) -> pd.DataFrame:
    """One node's view as a table: one row per node, in slot order, each master before its replicas.

    ``names`` maps node ids to the sandbox's names; an id it lacks is shown as ``?``.
    """
    name_of = {entry.node_id: names.get(entry.node_id, "?") for entry in view}
    first_slot = {entry.node_id: entry.slots[0][0] if entry.slots else TOTAL_SLOTS for entry in view}

    def order(entry: NodeEntry) -> tuple[int, str, str, int]:
        # Groups in slot order (empty masters last), each master before its replicas.
        group = entry.master_id if entry.role == "replica" and entry.master_id else entry.node_id
        return first_slot.get(group, TOTAL_SLOTS), name_of.get(group, ""), entry.role, entry.port

    rows = [
        {
            "node": name_of[entry.node_id],
            "id": entry.node_id,
            "address": f"{entry.host}:{entry.port}",
            "port": entry.port,
            "role": entry.role,
            "flags": ",".join(sorted(entry.flags)),
            "master_id": entry.master_id or "",
            "master": name_of.get(entry.master_id, "?") if entry.master_id else "",
            "link_state": entry.link_state,
            "slots": entry.slot_count,
            "slot_ranges": entry.slot_ranges,
        }
        for entry in sorted(view, key=order)
    ]
    return pd.DataFrame(rows)


class LocalNode:
    """One member of a cluster: its server, its id and its last known role.

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
        #: Stopped with SIGSTOP by the cluster's ``pause``: running, but answering nothing.
        self.paused = False
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

    @property
    def responsive(self) -> bool:
        """Running and not paused: a node worth asking."""
        return self.server.running and not self.paused

    def command(self, *args: Any) -> Any:
        """Send one command to this node (text replies decoded)."""
        return self._admin.execute_command(*args)

    def raw_command(self, *args: Any) -> Any:
        """Send one command and get bytes back (key names need not be UTF-8)."""
        return self._raw_admin.execute_command(*args)

    def view(self) -> list[NodeEntry]:
        """This node's ``CLUSTER NODES``, as redis-py parses it."""
        parsed: dict[str, Any] = self._admin.cluster("NODES")
        return [NodeEntry.from_redis_py(address, fields) for address, fields in parsed.items()]

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
        state = ("paused" if self.paused else "running") if self.running else "down"
        return f"<LocalNode {self.name} {self.role} {self.server.address} id={self.node_id[:8]} {state}>"
