"""course.lessons.caching_gates against a real server: threads held before a send or after a reply."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from course.lessons.caching_gates import Gate, gated_client
from course.sandbox.servers import RedisServer


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        box["result"] = call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_hold_before_keeps_the_command_from_the_server(server: RedisServer) -> None:
    gate, own = Gate(), server.client()
    client = gated_client(server, gate)
    gate.hold_before("SET", key="held")
    thread, box = in_thread(lambda: client.set("held", "1"))
    assert gate.wait_held(10)
    assert own.exists("held") == 0, "held before sending: the server has not seen it"
    client_other = gated_client(server, Gate())
    assert client_other.set("free", "1"), "other gates and other keys go through"
    gate.open()
    thread.join(10)
    assert box["result"] is True
    assert own.get("held") == "1"
    assert gate.held == [("SET", "held", "1")]


def test_hold_after_runs_the_command_and_holds_the_reply(server: RedisServer) -> None:
    gate, own = Gate(), server.client()
    client = gated_client(server, gate)
    own.set("k", "old")
    gate.hold_after("GET", key="k")
    thread, box = in_thread(lambda: client.get("k"))
    assert gate.wait_held(10)
    own.set("k", "new")
    gate.open()
    thread.join(10)
    assert box["result"] == "old", "the reply was read before the test changed the key"


def test_other_commands_and_keys_are_not_held(server: RedisServer) -> None:
    gate = Gate()
    client = gated_client(server, gate)
    gate.hold_after("GET", key="watched")
    assert client.set("watched", "v")
    assert client.get("other") is None
    assert client.incr("counter") == 1
    assert not gate.wait_held(0.1)
    gate.open()


def test_pipelines_are_held_before_they_send(server: RedisServer) -> None:
    gate, own = Gate(), server.client()
    client = gated_client(server, gate)
    gate.hold_before("RPUSH")
    pipe = client.pipeline(transaction=False).set("a", "1").rpush("list", "x")
    thread, box = in_thread(pipe.execute)
    assert gate.wait_held(10)
    assert own.exists("a") == 0, "nothing of the pipeline was sent"
    gate.open()
    thread.join(10)
    assert box["result"] == [True, 1]


def test_replies_in_a_pipeline_are_paired_with_their_commands(server: RedisServer) -> None:
    gate = Gate()
    client = gated_client(server, gate)
    client.set("x", "1")
    gate.hold_after("GET", key="x")
    thread, box = in_thread(lambda: client.pipeline(transaction=False).incr("n").get("x").incr("n").execute())
    assert gate.wait_held(10)
    assert gate.held == [("GET", "x")]
    gate.open()
    thread.join(10)
    assert box["result"] == [1, "1", 2]


def test_pubsub_on_a_gated_client_still_works(server: RedisServer) -> None:
    gate = Gate()
    client = gated_client(server, gate)
    gate.hold_after("RPUSH")
    pubsub = client.pubsub()
    pubsub.subscribe("news")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    server.client().publish("news", "hello")
    assert pubsub.get_message(timeout=5)["data"] == "hello"
    assert not gate.wait_held(0.05)
    pubsub.close()
    gate.open()


def test_a_forgotten_gate_lets_go_after_max_hold(server: RedisServer) -> None:
    gate = Gate(max_hold=0.2)
    client = gated_client(server, gate)
    gate.hold_before("PING")
    thread, box = in_thread(client.ping)
    thread.join(10)
    assert box["result"] is True
    assert gate.wait_held(0)
