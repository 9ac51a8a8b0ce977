"""The operator's tools on a live LocalCluster: check, fix, rebalance, remove_node, pause/resume.

Each test brings its own cluster. Verdicts come from plain redis-py clients or redis-cli itself,
not from the cluster's own bookkeeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psutil
import pytest
import redis

from course.checks import wait_until
from course.sandbox.cluster import LocalCluster, LocalNode, start_lone_node
from course.sandbox.cluster_health import readiness_problem
from course.sandbox.servers import RedisStartError
from tests.system.cluster_helpers import cluster_info


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster() as started:
        yield started


def open_slots(node: LocalNode) -> list[str]:
    fields = node.client().execute_command("CLUSTER", "NODES").split()
    return [field for field in fields if field.startswith("[")]


def test_check_reports_an_open_slot_and_fix_closes_it(cluster: LocalCluster) -> None:
    report = cluster.check()
    assert "[OK] All nodes agree about slots configuration." in report
    assert "[WARNING]" not in report
    client = cluster.client()
    client.set("{parcel}:1", "boxed")
    slot = client.cluster_keyslot("{parcel}:1")
    source = cluster.node_for_slot(slot)
    target = next(master for master in cluster.masters() if master is not source)
    target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
    source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)

    report = cluster.check()  # exits with 1: still returned, not raised
    assert f"The following slots are open: {slot}" in report

    cluster.fix()
    assert not open_slots(source)
    assert not open_slots(target)
    assert "[WARNING]" not in cluster.check()
    assert client.get("{parcel}:1") == "boxed"


def test_rebalance_follows_weights_and_simulate_moves_nothing(cluster: LocalCluster) -> None:
    cluster.client().mset_nonatomic({f"item:{i}": "x" for i in range(2000)})
    newcomer = cluster.add_node()
    before = cluster.slot_counts()
    plan = cluster.rebalance(simulate=True, use_empty_masters=True)
    assert "Moving" in plan
    assert cluster.slot_counts() == before, "a simulation moves nothing"

    cluster.rebalance({newcomer: 0.1}, use_empty_masters=True)

    counts = cluster.slot_counts()
    share = 16384 / 3.1
    assert abs(counts[newcomer.name] - 0.1 * share) <= 0.03 * share
    assert all(abs(counts[m.name] - share) <= 0.03 * share for m in cluster.masters() if m is not newcomer)
    client = cluster.client()
    assert all(value == "x" for value in client.mget_nonatomic([f"item:{i}" for i in range(2000)]))


def test_remove_node_with_redis_cli_or_commands_makes_every_node_forget_it(cluster: LocalCluster) -> None:
    first, second = (cluster.replicas_of(master)[0] for master in cluster.masters()[:2])
    master = cluster.masters()[0]
    with pytest.raises(ValueError, match="still serves"):
        cluster.remove_node(master)

    cluster.remove_node(first)
    assert ">>> Sending CLUSTER FORGET messages to the cluster..." in cluster.redis_cli_output
    assert not first.running
    assert first not in cluster.nodes
    cluster.remove_node(second, via="commands")

    assert len(cluster.nodes) == 4
    for node in cluster.nodes:
        assert cluster_info(node)["cluster_known_nodes"] == "4"
        ids = {line.split()[0] for line in node.command("CLUSTER", "NODES").splitlines()}
        assert first.node_id not in ids
        assert second.node_id not in ids
    with pytest.raises(ValueError, match="not a member"):
        cluster.remove_node(first)


def test_a_master_with_replicas_is_not_removed(cluster: LocalCluster) -> None:
    newcomer = cluster.add_node()
    cluster.add_node(replica_of=newcomer)
    with pytest.raises(ValueError, match="has replicas"):
        cluster.remove_node(newcomer)


def test_paused_majority_of_masters_blocks_failover_until_resumed(cluster: LocalCluster) -> None:
    lost = cluster.masters()[:2]
    standbys = [replica for master in lost for replica in cluster.replicas_of(master)]
    watcher = next(master for master in cluster.masters() if master not in lost)
    for master in lost:
        cluster.pause(master)
    assert all(master.running and master.paused for master in lost)
    pid = lost[0].server.pid
    assert pid is not None
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED

    # Several node timeouts: a single lost master is replaced well within this time.
    time.sleep(4 * cluster.node_timeout_ms / 1000)
    assert cluster_info(watcher)["cluster_state"] == "fail", "a master in the minority stops serving"
    flags = {entry.node_id: entry.flags for entry in watcher.view()}
    assert all("fail" not in flags[master.node_id] for master in lost), "no majority flags them fail"
    assert all(standby.client().info("replication")["role"] == "slave" for standby in standbys)

    for master in lost:
        cluster.resume(master)
    cluster.wait_ready()
    assert [master.role for master in lost] == ["master", "master"]
    assert cluster_info(watcher)["cluster_state"] == "ok"
    down = standbys[0]
    cluster.kill(down)
    with pytest.raises(ValueError, match="not running"):
        cluster.pause(down)


def test_a_second_server_on_one_nodes_conf_is_named_by_the_readiness_check(cluster: LocalCluster) -> None:
    node = cluster.nodes[0]
    try:
        twin = start_lone_node({"cluster-config-file": node.server.dir / "nodes.conf"}, name="twin")
    except RedisStartError:  # Redis locks nodes.conf: the twin cannot start, nothing to detect
        cluster.wait_ready()
        return
    try:
        # The other nodes see the shared id at one address, then at the other, every few seconds.
        def impostor_seen() -> bool:
            problem = readiness_problem(cluster.nodes)
            return problem is not None and "another server uses that identity" in problem[1]

        assert wait_until(impostor_seen, timeout=30, interval=0.05)
    finally:
        twin.close()


def test_a_paused_node_is_skipped_by_the_cluster_and_resumed_by_restart(cluster: LocalCluster) -> None:
    replica = cluster.replicas()[0]
    cluster.pause(replica)
    started = time.monotonic()
    assert len(cluster.masters()) == 3  # no 2 s admin timeout on the paused node
    assert time.monotonic() - started < 1.5
    with pytest.raises(redis.exceptions.TimeoutError):
        replica.client(socket_timeout=0.3).ping()
    cluster.restart(replica)
    assert not replica.paused
    assert replica.client().ping()
