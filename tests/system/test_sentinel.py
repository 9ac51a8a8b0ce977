"""Sentinels and replicated sets against real redis-server and redis-sentinel processes.

Checks go through plain redis-py clients (and Sentinel's own replies) wherever they can, so the
group's bookkeeping is not what is being tested against itself. A fixture checks that no program
a test started outlives it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psutil
import pytest
import redis

from course.lessons.replication import SentinelEvents, sync_counters
from course.sandbox.replication import ReplicatedSet, replication_info
from course.sandbox.sentinel import Monitor, SentinelProcess, SentinelStartError
from course.sandbox.sentinel_group import SentinelGroup
from tests.kernel import Kernel
from tests.owner_death import alive, owned_directories, printed_pids, sigkill_and_wait


def children() -> set[int]:
    return {
        child.pid
        for child in psutil.Process().children(recursive=True)
        if child.status() != psutil.STATUS_ZOMBIE and child.name().startswith(("redis", "valkey"))
    }


@pytest.fixture(autouse=True)
def nothing_outlives_the_test() -> Iterator[None]:
    before = children()
    yield
    left = children() - before
    assert not left, f"processes left running: {sorted(left)}"


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    with SentinelGroup(replicas=2, sentinels=3, quorum=2, down_after_ms=2000) as started:
        yield started


def test_a_sentinel_runs_on_loopback_in_its_own_directory_and_keeps_its_identity() -> None:
    with ReplicatedSet(replicas=0) as data:
        assert data.master is not None
        sentinel = SentinelProcess(Monitor("solo", data.master.port, quorum=1))
        with sentinel:
            client = sentinel.client()
            assert client.ping()
            assert sentinel.pid is not None
            listening = {
                c.laddr for c in psutil.Process(sentinel.pid).net_connections("inet") if c.status == "LISTEN"
            }
            assert listening == {("127.0.0.1", sentinel.port)}, (
                f"Sentinel listens on {listening}, not loopback only"
            )
            assert sentinel.config_path.parent == sentinel.dir
            assert sentinel.dir.is_absolute()
            assert sentinel.master_address() == ("127.0.0.1", data.master.port)
            state = sentinel.master_state()
            assert "disconnected" not in str(state["flags"])
            assert int(state["quorum"]) == 1
            myid = client.execute_command("SENTINEL", "MYID")
            sentinel.restart()
            assert sentinel.client().execute_command("SENTINEL", "MYID") == myid, (
                "a restart keeps the Sentinel's id"
            )
            directory, pid = sentinel.dir, sentinel.pid
        assert pid is not None
        assert not alive(pid)
        assert not directory.exists()
        sentinel.close()  # again: idempotent


def test_a_sentinel_that_cannot_start_quotes_its_log() -> None:
    with ReplicatedSet(replicas=0) as data:
        assert data.master is not None
        sentinel = SentinelProcess(Monitor("bad", data.master.port), start_timeout=5)
        sentinel.config_path.parent.mkdir(parents=True, exist_ok=True)
        sentinel.config_path.write_text("sentinel monitor\n")  # prepare() keeps an existing file
        with pytest.raises(SentinelStartError, match="monitor"):
            sentinel.start()
        sentinel.close()


def test_replicas_attach_and_resynchronise_partially_after_a_short_cut() -> None:
    with ReplicatedSet(replicas=2) as data:
        assert data.master is not None
        master = data.master.client()
        master.set("k", "v")
        assert master.wait(2, 5000) == 2
        for replica in data.replicas:
            info = replication_info(replica)
            assert (info["role"], info["master_port"], info["master_link_status"]) == (
                "slave",
                data.master.port,
                "up",
            )
            assert replica.client().get("k") == "v"
        before = sync_counters(master)
        data.detach(data.replicas[0])
        master.set("during", "the cut")
        data.attach(data.replicas[0])
        after = sync_counters(master)
        assert after["sync_partial_ok"] == before["sync_partial_ok"] + 1
        assert after["sync_full"] == before["sync_full"]
        assert data.replicas[0].client().get("during") == "the cut"
        data.replicas[0].restart()  # the directive is kept: it comes back as a replica
        data.wait_for_link(data.replicas[0])


def test_the_group_starts_ready_and_fails_over_after_kill(group: SentinelGroup) -> None:
    first = group.servers[0]
    assert group.master() is first
    for sentinel in group.sentinels:
        state = sentinel.master_state()
        assert (int(state["num-slaves"]), int(state["num-other-sentinels"])) == (2, 2)
        assert sentinel.master_address() == (first.host, first.port)
    client = group.client()
    assert client.discover_master(group.service) == (first.host, first.port)
    writer = client.master_for(group.service)
    writer.set("before", "1")
    assert writer.wait(2, 5000) == 2

    with SentinelEvents(group.sentinels) as events:
        started = time.perf_counter()
        group.kill(first)
        heir = group.wait_for_failover(first, timeout=60)
        assert events.wait_for("+switch-master", after=started, timeout=30).seconds >= started
        assert events.first("+odown", after=started) is not None
    assert heir is not first
    assert replication_info(heir)["role"] == "master"
    assert all(s.master_address() == (heir.host, heir.port) for s in group.sentinels)
    writer.set("after", "2")  # the same Sentinel-managed client found the new master
    assert heir.client().get("before") == "1"
    assert heir.client().get("after") == "2"

    group.rejoin(first)
    info = replication_info(first)
    assert (info["role"], info["master_port"], info["master_link_status"]) == ("slave", heir.port, "up")
    assert first.client().get("after") == "2"


def test_pausing_the_master_fails_it_over_and_close_kills_a_paused_server(group: SentinelGroup) -> None:
    old = group.master()
    group.pause(old)
    new = group.wait_for_failover(old, timeout=60)
    assert new is not old
    pids = [s.pid for s in [*group.servers, *group.sentinels]]
    directories = [s.dir for s in [*group.servers, *group.sentinels]]
    group.close()
    group.close()
    assert not any(alive(pid) for pid in pids if pid is not None)
    assert not any(path.exists() for path in directories)


def test_killing_the_owner_takes_the_whole_group_with_it() -> None:
    kernel = Kernel().start()
    try:
        pids = printed_pids(
            kernel,
            "from course import SentinelGroup\n"
            "group = SentinelGroup(replicas=1, sentinels=3).start()\n"
            "print(' '.join(str(p.pid) for p in [*group.servers, *group.sentinels]))\n",
        )
        assert len(pids) == 5
        assert all(alive(pid) for pid in pids)
        survivors = sigkill_and_wait(kernel.pid, pids, timeout=10)
        assert survivors == [], "a server or Sentinel outlived its SIGKILLed owner"
        leftovers = owned_directories(kernel.pid)
        assert len(leftovers) == 5
    finally:
        kernel.close()
    with ReplicatedSet(replicas=0):  # any next start sweeps what the dead owner left
        assert not any(path.exists() for path in leftovers)


def test_sentinel_events_record_a_failover_in_order(group: SentinelGroup) -> None:
    with SentinelEvents(group.sentinels) as events:
        started = time.perf_counter()
        old = group.master()
        group.kill(old)
        group.wait_for_failover(old, timeout=60)
        events.wait_for("+switch-master", after=started)
        names = [e.event for e in events.events if e.seconds >= started]
    assert names.index("+sdown") < names.index("+odown") < names.index("+switch-master")
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=old.host, port=old.port, socket_connect_timeout=1).ping()
