"""When is a local cluster ready, and if it is not, which node is to blame and why.

"Ready" means: every running node reports ``cluster_state:ok``, knows every other running node
over a connected link without flagging it as failing, at the address that node really has, sees
the same roles and slot map as the others, every running replica reports
``master_link_status:up``, and no slot is still owned by a node that is not running. A paused node
(SIGSTOP) counts as not running: it answers nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from course.sandbox.cluster_view import LocalNode, NodeEntry, SlotMap

#: Flags under which a node that is actually running does not count as healthy yet.
UNHEALTHY_FLAGS = frozenset({"fail", "fail?", "handshake", "noaddr"})

Problem = tuple[LocalNode | None, str]


class ClusterNotReadyError(RuntimeError):
    """The cluster did not reach the expected state in time; the message says which node and why."""


def readiness_problem(members: Sequence[LocalNode]) -> Problem | None:
    """``None`` when ready, else the first node found not ready and what is wrong with it."""
    running = [node for node in members if node.responsive]
    if not running:
        return None, "no node is running"
    reference: tuple[LocalNode, SlotMap] | None = None
    for node in running:
        try:
            reason, slot_map = node_problem(node, running, members)
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
    by_id = {node.node_id: node for node in members}
    for node_id, _role, _master_id, slots in reference[1]:
        if slots and node_id not in running_ids:
            count = sum(last - first + 1 for first, last in slots)
            owner = by_id.get(node_id)
            state = "paused" if owner is not None and owner.paused else "not running"
            return owner, f"is {state} but still owns {count} slots"
    return None


def node_problem(
    node: LocalNode, running: Sequence[LocalNode], members: Sequence[LocalNode]
) -> tuple[str | None, SlotMap]:
    """What keeps one node from being ready (``None`` if nothing), and its view of the map."""
    state = node.cluster_info().get("cluster_state")
    view = node.view()
    names = {member.node_id: member.name for member in running}
    addresses = {member.node_id: member.address for member in running}
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
    if known - {member.node_id for member in members}:
        return "is still in a handshake with a node it has not identified", slot_map
    for entry in view:
        if entry.node_id in names and not entry.myself:
            reason = peer_problem(entry, names[entry.node_id], addresses[entry.node_id])
            if reason is not None:
                return reason, slot_map
    me = next(entry for entry in view if entry.myself)
    if me.role == "replica":
        link = node.replication_info().get("master_link_status")
        if link != "up":
            return f"is a replica whose master link is {link}", slot_map
    return None, slot_map


def peer_problem(entry: NodeEntry, name: str, address: str) -> str | None:
    """What is wrong with how one node sees another running node (``None`` if nothing)."""
    seen_at = f"{entry.host}:{entry.port}"
    if entry.port and seen_at != address:
        # Another server answers with this node's identity: two servers shared one nodes.conf.
        return (
            f"sees {name}'s id at {seen_at}, not at its address {address}: another server uses "
            "that identity (two servers started from one nodes.conf?)"
        )
    unhealthy = sorted(entry.flags & UNHEALTHY_FLAGS)
    if entry.link_state != "connected":
        unhealthy.append("disconnected")
    return f"still sees {name} as {','.join(unhealthy)}" if unhealthy else None


def describe(node: LocalNode | None, reason: str) -> str:
    """A paragraph for an error message: the node, its CLUSTER INFO and NODES, its log's end."""
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
