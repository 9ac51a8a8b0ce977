"""What the LocalCluster tests read from the nodes themselves: CLUSTER INFO, INFO replication, shape.

``tests/conftest.py`` registers this module for pytest's assertion rewriting, so a failed check
says what it compared.
"""

from __future__ import annotations

import psutil

from course.sandbox.cluster import LocalCluster, LocalNode


def redis_server_children() -> set[int]:
    """Pids of the redis-server (or valkey-server) processes this test process started, zombies aside."""
    return {
        child.pid
        for child in psutil.Process().children(recursive=True)
        if child.name() in ("redis-server", "valkey-server") and child.status() != psutil.STATUS_ZOMBIE
    }


def cluster_info(node: LocalNode) -> dict[str, str]:
    text = node.client().execute_command("CLUSTER", "INFO")
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def replication(node: LocalNode) -> dict[str, object]:
    info: dict[str, object] = node.client().info("replication")
    return info


def shape(cluster: LocalCluster) -> tuple[list[str], list[int]]:
    """Slot ranges of the masters, and how many replicas each master has."""
    table = cluster.nodes_table()
    masters = table[table.role == "master"]
    replicas_per_master = sorted(int((table.master_id == node_id).sum()) for node_id in masters.id)
    return sorted(masters.slot_ranges), replicas_per_master


def check_ready_cluster(cluster: LocalCluster) -> None:
    """Three masters with one linked replica each, every slot served, and redis-cli agrees."""
    masters, replicas = cluster.masters(), cluster.replicas()
    assert len(masters) == 3
    assert len(replicas) == 3
    for node in cluster.nodes:
        info = cluster_info(node)
        assert info["cluster_state"] == "ok", node
        assert info["cluster_known_nodes"] == "6"
        assert info["cluster_slots_ok"] == "16384"
    ports = {master.node_id: master.port for master in masters}
    for replica in replicas:
        status = replication(replica)
        assert status["role"] == "slave"
        assert status["master_link_status"] == "up"
        assert status["master_port"] == ports[replica.master_id or ""]
    assert sorted(len(cluster.replicas_of(master)) for master in masters) == [1, 1, 1]
    assert sum(cluster.slot_counts().values()) == 16384
    # redis-cli's own consistency check agrees.
    report = masters[0].server.cli("--cluster", "check", masters[0].address)
    assert "[OK] All nodes agree about slots configuration." in report
    assert "[OK] All 16384 slots covered." in report
