"""The helpers test cells use to check contracts from the outside."""

from __future__ import annotations

import os
import time
from pathlib import Path
from unittest import mock

import pytest
import redis

from course.checks import CommandLog, Subscriber, subscriber_connections, wait_until
from course.sandbox.binaries import find_redis
from course.sandbox.servers import RedisServer
from tests.builds import build_id, server_builds


def test_wait_until_polls_until_the_deadline_and_returns_the_verdict() -> None:
    assert wait_until(lambda: True)
    calls = []
    start = time.monotonic()
    assert not wait_until(lambda: calls.append(1), timeout=0.2, interval=0.01)
    assert time.monotonic() - start >= 0.2, "gave up before the deadline"
    assert len(calls) > 2, "the predicate is polled again and again"


def test_subscriber_sees_everything_published_after_start_in_order(server: RedisServer) -> None:
    publisher = server.client()
    with Subscriber(server, channels=["news"], patterns=["user:*"]) as subscriber:
        for i in range(50):
            publisher.publish("news", f"n{i}")
        publisher.publish("user:1", "hello")
        publisher.publish("other", "not for us")
        messages = subscriber.wait_for(51)
    assert [m["data"] for m in messages[:50]] == [f"n{i}" for i in range(50)]
    assert messages[50]["type"] == "pmessage"
    assert messages[50]["pattern"] == "user:*"
    assert len(messages) == 51
    assert publisher.pubsub_numsub("news") == [("news", 0)], "closing unsubscribes"


def test_command_log_records_commands_in_order(server: RedisServer) -> None:
    client = server.client(protocol=2)
    client.ping()  # connected before recording: its handshake is not part of what is checked
    with CommandLog(server) as log:
        client.set("a", 1)
        pipe = client.pipeline()
        pipe.incr("a")
        pipe.publish("c", "x")
        pipe.execute()
        client.scan(0, match="a*")
    assert log.names() == ["SET", "MULTI", "INCRBY", "PUBLISH", "EXEC", "SCAN"]
    assert log.commands[0] == "SET a 1"


@pytest.mark.parametrize("folder", server_builds(), ids=build_id)
def test_command_log_holds_none_of_its_own_connections_handshakes_on_every_build(folder: Path) -> None:
    # Valkey and Redis 7.2+ accept redis-py's CLIENT SETINFO on connect, and MONITOR shows it.
    with mock.patch.dict(os.environ, {"REDIS_COURSE_BIN_DIR": str(folder)}):
        find_redis.cache_clear()
        binaries = find_redis()
    find_redis.cache_clear()
    with RedisServer(binaries=binaries) as server:
        client = server.client()
        client.ping()
        with CommandLog(server) as idle:
            pass
        assert idle.commands == [], "the log recorded its own traffic"
        with CommandLog(server) as log:
            client.get("k")
            with redis.Redis(host=server.host, port=server.port, protocol=2) as newcomer:
                newcomer.get("k")
        names = log.names()
        assert names[0] == "GET", log.commands
        assert names[-1] == "GET", f"the log recorded its own traffic: {log.commands}"
        assert names.count("GET") == 2, "a connection opened while recording is recorded"


def test_subscriber_connections_finds_open_subscribers(server: RedisServer) -> None:
    client = server.client()
    pubsub = server.client().pubsub()
    pubsub.subscribe("x")
    pubsub.get_message(timeout=1)
    assert len(subscriber_connections(client)) == 1
    pubsub.unsubscribe("x")
    pubsub.get_message(timeout=1)
    assert len(subscriber_connections(client)) == 1, "unsubscribed but still connected"
    pubsub.close()
    assert wait_until(lambda: subscriber_connections(client) == [])
