"""The monitoring lesson's load helpers against a real server (whichever build the course found)."""

from __future__ import annotations

import pytest

from course.lessons.monitoring import latency_latest, slowlog
from course.lessons.monitoring_load import slow_script
from course.sandbox.servers import RedisServer


@pytest.mark.parametrize("milliseconds", [40, 150])
def test_slow_script_blocks_for_at_least_the_time_asked_and_ends_before_busy_replies(
    server: RedisServer, milliseconds: int
) -> None:
    client = server.client()
    client.config_set("slowlog-log-slower-than", 10_000)  # µs: the script, not the TIME calls inside it
    client.config_set("latency-monitor-threshold", 20)
    busy_after_ms = int(client.config_get("busy-reply-threshold")["busy-reply-threshold"])
    client.slowlog_reset()
    slow_script(client, milliseconds)
    logged = slowlog(client)
    scripts = logged[logged["command"].str.startswith("EVAL")]
    assert len(scripts) == 1, logged
    took_ms = scripts["duration_us"].iloc[0] / 1000
    # A script that cannot see the clock advance spins until busy-reply-threshold (5 s on Valkey 9).
    assert milliseconds <= took_ms < busy_after_ms, f"the script ran {took_ms:.0f} ms"
    events = latency_latest(client.execute_command("LATENCY", "LATEST"))
    assert events.loc["command", "max_ms"] >= milliseconds
