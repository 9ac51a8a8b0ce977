"""LocalCluster against real redis-server processes: forming, routing, failover, resharding, cleanup.

Each test starts its own cluster and closes it; a fixture checks that no redis-server it started
outlives the test. Checks go through plain redis-py clients and redis-cli wherever they can, so the
cluster's own bookkeeping is not what is being tested against itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
from redis.crc import key_slot

from course.sandbox.cluster import ClusterNotReadyError, LocalCluster, LocalNode, NodeEntry, start_lone_node
from tests.kernel import Kernel
from tests.owner_death import alive, printed_pids, sigkill_and_wait
from tests.system.cluster_helpers import (
    check_ready_cluster,
    cluster_info,
    redis_server_children,
    replication,
    shape,
)


@pytest.fixture(autouse=True)
def no_server_outlives_the_test() -> Iterator[None]:
    before = redis_server_children()
    yield
    left = redis_server_children() - before
    assert not left, f"redis-server processes left running: {sorted(left)}"


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster() as started:
        yield started


# -- pure parts -------------------------------------------------------------------------------------


def test_invalid_arguments_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="cluster-node-timeout"):
        LocalCluster(config={"cluster-node-timeout": 5000})
    with pytest.raises(ValueError, match="at least 3 masters"):
        LocalCluster(masters=2, bootstrap="redis-cli")
    with pytest.raises(ValueError, match="bootstrap"):
        LocalCluster(bootstrap="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one master"):
        LocalCluster(masters=0)


# -- a running cluster -------------------------------------------------------------------------------


def test_ready_cluster_has_all_slots_served_and_every_replica_linked() -> None:
    with LocalCluster() as cluster:
        check_ready_cluster(cluster)
        # A replica left waiting for repl-diskless-sync-delay (5 s by default) before its first
        # sync would make every cluster start slow (benchmarks/bench_cluster.py times it).
        for node in cluster.nodes:
            assert node.command("CONFIG", "GET", "repl-diskless-sync-delay") == [
                "repl-diskless-sync-delay",
                "0",
            ]


def test_both_bootstraps_form_the_same_shape() -> None:
    with LocalCluster(bootstrap="commands") as by_commands:
        commands_shape = shape(by_commands)
        assert by_commands.bootstrap_output == ""
    with LocalCluster(bootstrap="redis-cli") as by_redis_cli:
        redis_cli_shape = shape(by_redis_cli)
        assert "[OK] All 16384 slots covered." in by_redis_cli.bootstrap_output
        assert len(by_redis_cli.replicas()) == 3
    assert commands_shape == redis_cli_shape
    assert commands_shape == (["0-5460", "10923-16383", "5461-10922"], [1, 1, 1])


def test_keys_are_stored_on_the_master_of_their_slot(cluster: LocalCluster) -> None:
    client = cluster.client()
    keys = [f"user:{i}" for i in range(300)] + [f"{{cart:7}}:item:{i}" for i in range(20)]
    for key in keys:
        client.set(key, key.upper())
    assert all(client.get(key) == key.upper() for key in keys)
    # Every key lives on the master serving its slot, and only there.
    for key in keys:
        owner = cluster.node_for_key(key)
        assert owner.node_id == cluster.node_for_slot(key_slot(key.encode())).node_id
        assert owner.client().get(key) == key.upper()
    assert sum(master.client().dbsize() for master in cluster.masters()) == len(keys)
    # Hash tags put related keys in one slot, so one master holds them all.
    tagged_owners = {cluster.node_for_key(key).name for key in keys if key.startswith("{cart:7}")}
    assert len(tagged_owners) == 1
    # A plain client on the wrong master is redirected instead of answered.
    wrong = next(m for m in cluster.masters() if m.node_id != cluster.node_for_key("user:1").node_id)
    with pytest.raises(redis.exceptions.MovedError):
        wrong.client().get("user:1")


def test_killed_master_is_replaced_by_its_replica_and_rejoins_as_replica(cluster: LocalCluster) -> None:
    client = cluster.client()
    keys = [f"order:{i}" for i in range(300)]
    for key in keys:
        client.set(key, "paid")
    cluster.wait_for_replication()
    victim = cluster.node_for_key("order:1")
    (its_replica,) = cluster.replicas_of(victim)
    pid = victim.server.pid
    assert pid is not None

    cluster.kill(victim)
    assert not alive(pid)
    new_master = cluster.wait_for_failover(victim, timeout=20)

    assert new_master is its_replica
    assert replication(new_master)["role"] == "master"
    assert cluster.node_for_key("order:1") is new_master
    assert all(client.get(key) == "paid" for key in keys)
    for node in cluster.nodes:
        if node.running:
            assert cluster_info(node)["cluster_state"] == "ok"

    cluster.restart(victim)
    assert victim.role == "replica"
    assert victim.master_id == new_master.node_id
    status = replication(victim)
    assert (status["role"], status["master_port"], status["master_link_status"]) == (
        "slave",
        new_master.port,
        "up",
    )
    assert victim.client().dbsize() == new_master.client().dbsize()
    assert len(cluster.masters()) == 3
    with pytest.raises(ValueError, match="is a replica"):
        cluster.wait_for_failover(victim)


def test_manual_failover_swaps_master_and_replica(cluster: LocalCluster) -> None:
    client = cluster.client()
    client.set("greeting", "hello")
    master = cluster.node_for_key("greeting")
    (replica,) = cluster.replicas_of(master)
    assert cluster.manual_failover(replica) is replica
    assert replication(replica)["role"] == "master"
    assert replication(master)["role"] == "slave"
    assert master.master_id == replica.node_id
    assert cluster.node_for_key("greeting") is replica
    assert client.get("greeting") == "hello"
    with pytest.raises(ValueError, match="is a master"):
        cluster.manual_failover(replica)


def test_move_slots_takes_the_keys_along(cluster: LocalCluster) -> None:
    client = cluster.client()
    keys = [f"item:{i}" for i in range(3000)]
    for key in keys:
        client.set(key, "x")
    source = cluster.node_for_slot(0)
    target = cluster.node_for_slot(16383)
    # A key name that is not UTF-8 must move too.
    binary_keys = (b"\xff\xfe" + i.to_bytes(2, "big") for i in range(65536))
    binary_key = next(candidate for candidate in binary_keys if key_slot(candidate) < 150)
    raw_client = cluster.client(decode_responses=False)
    raw_client.set(binary_key, b"\x00\x01")
    before = cluster.slot_counts()
    in_moved_slots = [key for key in keys if key_slot(key.encode()) < 150]
    assert in_moved_slots

    moved = cluster.move_slots(source, target, 150)

    assert moved == list(range(150))
    after = cluster.slot_counts()
    assert after[source.name] == before[source.name] - 150
    assert after[target.name] == before[target.name] + 150
    assert all(cluster.node_for_slot(slot) is target for slot in moved)

    def keys_in_moved_slots(node: LocalNode) -> int:
        client = node.client()
        return sum(client.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) for slot in moved)

    assert keys_in_moved_slots(target) == len(in_moved_slots) + 1  # + the binary key
    assert keys_in_moved_slots(source) == 0
    assert target.client(decode_responses=False).get(binary_key) == b"\x00\x01"
    # The client made before the move follows the MOVED redirections; a new one knows the map.
    assert all(client.get(key) == "x" for key in keys)
    assert all(value == "x" for value in cluster.client().mget_nonatomic(in_moved_slots[:5]))
    assert raw_client.get(binary_key) == b"\x00\x01"

    # More slots than the source has, or none, are refused before redis-cli runs.
    with pytest.raises(ValueError, match="cannot move"):
        cluster.move_slots(source, target, 20_000)
    with pytest.raises(ValueError, match="cannot move"):
        cluster.move_slots(source, target, 0)


def test_add_node_joins_as_empty_master_then_as_replica(cluster: LocalCluster) -> None:
    newcomer = cluster.add_node()
    assert newcomer.role == "master"
    assert cluster.slot_counts()[newcomer.name] == 0
    assert len(cluster.masters()) == 4
    for node in cluster.nodes:
        assert cluster_info(node)["cluster_known_nodes"] == "7"

    cluster.move_slots(cluster.node_for_slot(0), newcomer, 10)
    assert cluster.node_for_slot(5) is newcomer

    its_replica = cluster.add_node(replica_of=newcomer)
    assert its_replica.role == "replica"
    assert its_replica.master_id == newcomer.node_id
    status = replication(its_replica)
    assert (status["master_port"], status["master_link_status"]) == (newcomer.port, "up")

    key = next(f"new:{i}" for i in range(100_000) if key_slot(f"new:{i}".encode()) < 10)
    cluster.client().set(key, "on the newcomer")
    cluster.wait_for_replication()
    reader = its_replica.client()
    reader.execute_command("READONLY")
    assert reader.get(key) == "on the newcomer"
    for node in cluster.nodes:
        assert cluster_info(node)["cluster_known_nodes"] == "8"


def test_close_is_idempotent_and_leaves_no_process_or_directory() -> None:
    cluster = LocalCluster(masters=3, replicas_per_master=1).start()
    cluster.client().set("k", "v")
    pids = [node.server.pid for node in cluster.nodes]
    directories = [node.server.dir for node in cluster.nodes]
    assert all(pid is not None and psutil.pid_exists(pid) for pid in pids)
    assert all(directory.is_dir() for directory in directories)

    cluster.close()
    cluster.close()

    for pid in pids:
        assert pid is not None
        assert not alive(pid)
    assert not any(directory.exists() for directory in directories)
    with pytest.raises(RuntimeError, match="closed"):
        cluster.start()


def test_readiness_deadline_names_the_node_and_quotes_its_log() -> None:
    # A master reports "ok" no sooner than 2 s after it starts: half a second cannot be enough.
    cluster = LocalCluster(ready_timeout=0.5)
    with pytest.raises(ClusterNotReadyError) as caught:
        cluster.start()
    message = str(caught.value)
    assert "node-" in message
    assert "cluster_state" in message
    assert "ends with:" in message
    # A line of the server's own log ("pid:role day month year ..."), whatever the build writes.
    assert re.search(r"^\d+:[MSCX] \d{2} \w{3} \d{4} ", message, re.MULTILINE), message
    # A failed start cleans up after itself.
    assert all(not node.running for node in cluster.nodes)


def test_redis_cli_adds_nodes_and_reshards_with_the_keys(cluster: LocalCluster) -> None:
    client = cluster.client()
    keys = [f"item:{i}" for i in range(500)]
    client.mset_nonatomic(dict.fromkeys(keys, "x"))

    newcomer = cluster.add_node(via="redis-cli")
    assert "[OK] New node added correctly." in cluster.redis_cli_output
    assert "\x1b[" not in cluster.redis_cli_output, "colours are removed"
    assert (newcomer.role, cluster.slot_counts()[newcomer.name]) == ("master", 0)

    source = cluster.node_for_slot(0)
    moved = cluster.move_slots(source, newcomer, 30)
    assert moved == list(range(30)), "redis-cli takes the source's lowest slots"
    assert "Moving slot 29 from" in cluster.redis_cli_output
    assert all(cluster.node_for_slot(slot) is newcomer for slot in moved)
    in_moved = [key for key in keys if key_slot(key.encode()) < 30]
    assert in_moved
    assert newcomer.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", key_slot(in_moved[0].encode())) > 0
    assert all(client.get(key) == "x" for key in keys)

    its_replica = cluster.add_node(replica_of=newcomer, via="redis-cli")
    assert (its_replica.role, its_replica.master_id) == ("replica", newcomer.node_id)
    assert replication(its_replica)["master_link_status"] == "up"

    with pytest.raises(ValueError, match="running master"):
        cluster.move_slots(its_replica, source, 1)
    with pytest.raises(ValueError, match="via"):
        cluster.add_node(via="ssh")  # type: ignore[arg-type]
    with pytest.raises(ClusterNotReadyError, match="exited with"):
        cluster.redis_cli("check", "127.0.0.1:1")


def test_set_node_timeout_applies_at_once_and_after_a_restart(cluster: LocalCluster) -> None:
    cluster.set_node_timeout(2500)
    for node in cluster.nodes:
        assert node.client().config_get("cluster-node-timeout") == {"cluster-node-timeout": "2500"}
    replica = cluster.replicas()[0]
    cluster.restart(replica)
    assert replica.client().config_get("cluster-node-timeout") == {"cluster-node-timeout": "2500"}
    assert "cluster-node-timeout 2500" in replica.server.config_path.read_text()
    with pytest.raises(ValueError, match="positive"):
        cluster.set_node_timeout(0)


def test_a_lone_node_answers_keyslot_and_knows_only_itself() -> None:
    with start_lone_node() as node:
        client = node.client()
        assert client.execute_command("CLUSTER", "KEYSLOT", "{user:1000}:cart") == key_slot(b"user:1000")
        parsed = client.cluster("NODES")  # redis-py's parser, as the sandbox reads it
        (entry,) = [NodeEntry.from_redis_py(address, fields) for address, fields in parsed.items()]
        assert entry.myself
        assert entry.slot_count == 0
        assert node.extra_port(10000) == node.port + 10000


def test_a_cluster_left_open_dies_with_its_process() -> None:
    program = (
        "import course.sandbox.servers as servers\n"
        "graceful = servers.RedisServer.stop\n"
        "def stop(self, *args, **kwargs):\n"
        "    print('GRACEFUL-STOP', flush=True)\n"
        "    graceful(self, *args, **kwargs)\n"
        "servers.RedisServer.stop = stop\n"
        "from course.sandbox.cluster import LocalCluster\n"
        "cluster = LocalCluster(masters=3, replicas_per_master=1).start()\n"
        "print(' '.join(f'{n.server.pid}:{n.server.dir}' for n in cluster.nodes), flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    # Killed at exit, not stopped one by one (a master's shutdown waits for its replicas).
    assert "GRACEFUL-STOP" not in result.stdout, "the nodes were stopped gracefully at exit"
    nodes = [item.split(":", 1) for item in result.stdout.split()]
    assert len(nodes) == 6
    for pid, directory in nodes:
        assert not alive(int(pid))
        assert not Path(directory).exists()


def test_a_sigkilled_kernel_takes_its_cluster_with_it() -> None:
    kernel = Kernel().start()
    try:
        pids = printed_pids(
            kernel,
            "from course.sandbox.cluster import LocalCluster\n"
            "cluster = LocalCluster(masters=3, replicas_per_master=1).start()\n"
            "cluster.add_node(via='redis-cli')\n"
            "print(' '.join(str(n.server.pid) for n in cluster.nodes))\n",
        )
        assert len(pids) == 7
        survivors = sigkill_and_wait(kernel.pid, pids, timeout=60)
        assert not survivors, "cluster nodes outlived their SIGKILLed kernel"
    finally:
        kernel.close()
    with start_lone_node():  # the next start sweeps the dead kernel's directories
        pass
