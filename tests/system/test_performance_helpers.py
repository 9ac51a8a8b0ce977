"""The performance lesson's helpers against real servers: replay, round trips, redis-benchmark, limits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from course.lessons.os_limits import listen_backlog, open_files_limit, parse_latency_latest, process_status
from course.lessons.performance import (
    RoundTripCounter,
    replay_cache_aside,
    run_redis_benchmark,
    set_throughput,
)
from course.sandbox.servers import RedisServer, start_server


def test_replay_counts_hits_and_misses_like_one_request_at_a_time(server: RedisServer) -> None:
    client = server.client()
    trace = ["a", "b", "a", "a", "c", "b"] * 50
    stats = replay_cache_aside(client, trace, value_bytes=10, batch=7)
    assert (stats.requests, stats.hits, stats.misses, stats.refused_writes) == (300, 297, 3, 0)
    assert stats.hit_ratio == pytest.approx(0.99)
    assert client.get("a") == "v" * 10
    assert client.ttl("a") == -1


def test_replay_gives_keys_a_ttl_when_asked(server: RedisServer) -> None:
    client = server.client()
    replay_cache_aside(client, ["x", "y"], ttl_seconds=100)
    assert 0 < client.ttl("x") <= 100


def test_replay_counts_writes_refused_under_noeviction(server: RedisServer) -> None:
    client = server.client()
    client.config_set("maxmemory", client.info("memory")["used_memory"] + 100_000)
    stats = replay_cache_aside(client, [f"k{i}" for i in range(2000)], value_bytes=200, batch=100)
    assert stats.hits == 0
    assert 0 < stats.refused_writes < 2000
    assert client.dbsize() == 2000 - stats.refused_writes
    assert client.info("stats")["evicted_keys"] == 0


def test_replay_evicts_under_an_allkeys_policy(server: RedisServer) -> None:
    client = server.client()
    # Evict in the foreground: a build that frees evicted keys lazily (Valkey's default) can fall
    # behind a small limit and refuse writes, which is the server's business, not the replay's.
    client.config_set("lazyfree-lazy-eviction", "no")
    client.config_set("maxmemory", client.info("memory")["used_memory"] + 400_000)
    client.config_set("maxmemory-policy", "allkeys-lru")
    stats = replay_cache_aside(client, [f"k{i}" for i in range(5000)], value_bytes=200, batch=100)
    assert stats.refused_writes == 0
    assert client.info("stats")["evicted_keys"] > 0


def test_replay_raises_errors_other_than_oom(server: RedisServer) -> None:
    client = server.client()
    client.rpush("a-list", "x")  # GET on a list: WRONGTYPE
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        replay_cache_aside(client, ["a-list"])


def test_hit_ratio_of_an_empty_replay_is_zero(server: RedisServer) -> None:
    assert replay_cache_aside(server.client(), []).hit_ratio == 0.0


def test_round_trip_counter_counts_writes_not_commands(server: RedisServer) -> None:
    counter = RoundTripCounter()
    client = counter.client(server)
    client.set("a", "1")  # connects first: the handshake is not counted
    client.get("a")
    pipe = client.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"k{i}", i)
    pipe.execute()
    client.pipeline().set("x", 1).set("y", 2).execute()
    client.mset({"m1": 1, "m2": 2})
    assert counter.writes == [1, 1, 100, 4, 1]
    assert counter.round_trips == 5
    counter.reset()
    assert counter.writes == []
    assert client.get("k99") == "99"  # decode_responses defaults to True


def test_round_trip_counter_runs_a_hook_before_each_write(server: RedisServer) -> None:
    observer = server.client()
    sizes: list[int] = []
    counter = RoundTripCounter(before_write=lambda: sizes.append(observer.dbsize()))
    client = counter.client(server)
    for i in range(3):
        client.set(f"k{i}", i)
    assert sizes == [0, 1, 2]


def test_round_trip_counter_is_thread_safe(server: RedisServer) -> None:
    counter = RoundTripCounter()
    client = counter.client(server)

    def work() -> None:
        for _ in range(200):
            client.ping()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.round_trips == 800


def test_set_throughput_writes_every_key_in_each_mode(server: RedisServer) -> None:
    client = server.client()
    for mode in ("single", "pipeline", "transaction", "mset"):
        client.flushall()
        assert set_throughput(client, 250, batch=100, mode=mode) > 0
        assert client.dbsize() == 250
        assert client.get("bench:249") == "xxx"


def test_set_throughput_sends_batches_as_asked(server: RedisServer) -> None:
    counter = RoundTripCounter()
    client = counter.client(server)
    set_throughput(client, 250, batch=100, mode="pipeline")
    assert counter.writes == [100, 100, 50]
    counter.reset()
    set_throughput(client, 250, batch=100, mode="transaction")
    assert counter.writes == [102, 102, 52]
    counter.reset()
    set_throughput(client, 250, batch=100, mode="mset")
    assert counter.writes == [1, 1, 1]


def test_run_redis_benchmark_against_a_sandbox_server(server: RedisServer) -> None:
    rows = run_redis_benchmark(server, tests="set,get", requests=2000, pipeline=16)
    assert [row.test for row in rows] == ["SET", "GET"]
    assert all(row.rps > 0 for row in rows)
    assert server.client().dbsize() > 1  # -r spreads the SETs over many keys


def test_run_redis_benchmark_refuses_arguments_it_would_hang_on(server: RedisServer) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_redis_benchmark(server, requests=-5)
    with pytest.raises(ValueError, match="at least 1"):
        run_redis_benchmark(server, pipeline=0)
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        run_redis_benchmark(server, requests=10)


def test_run_redis_benchmark_turns_a_timeout_into_an_error(server: RedisServer) -> None:
    with pytest.raises(RuntimeError, match="did not finish"):
        run_redis_benchmark(server, requests=100_000_000, timeout=0.2)


def test_limits_are_read_from_a_live_server_on_linux() -> None:
    if not Path("/proc/self/limits").exists():
        pytest.skip("needs /proc (Linux)")
    with start_server({"tcp-backlog": 64}) as server:
        limits = open_files_limit(server.pid)
        assert limits is not None
        assert int(limits["soft"]) >= 1
        assert process_status(server.pid, "Name") in ("redis-server", "valkey-server")
        backlog = listen_backlog(server.port)
        if backlog != "(ss is not available)":
            assert backlog == 64
        client = server.client()
        client.config_set("latency-monitor-threshold", 1)
        client.eval("for i = 1, 3000000 do end return 1", 0)
        (event,) = parse_latency_latest(client.execute_command("LATENCY", "LATEST"))
        assert event["event"] == "command"
        assert event["latest (ms)"] == event["all-time max (ms)"] >= 1
