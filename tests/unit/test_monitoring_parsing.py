"""What servers and tools answer, parsed: INFO text, latency replies, metrics text, terminal output."""

from __future__ import annotations

import pandas as pd
import pytest

from course.lessons.monitoring import (
    EXPORTER_FIELDS,
    latency_histogram,
    latency_history,
    latency_latest,
    parse_info,
    parse_metrics,
    terminal_lines,
)

INFO_TEXT = """# Server\r
redis_version:7.0.15\r
os:Linux 6.1.0 x86_64\r
uptime_in_seconds:42\r
\r
# Memory\r
used_memory:1048576\r
mem_fragmentation_ratio:1.25\r
maxmemory_policy:noeviction\r
\r
# Commandstats\r
cmdstat_get:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r
cmdstat_client|setname:calls=1,usec=3,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r
\r
# Errorstats\r
errorstat_ERR:count=5\r
\r
# Replication\r
role:master\r
slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0\r
\r
# Keyspace\r
db0:keys=1,expires=0,avg_ttl=0\r
"""


def test_info_keeps_sections_and_types_values() -> None:
    info = parse_info(INFO_TEXT)
    assert list(info) == ["server", "memory", "commandstats", "errorstats", "replication", "keyspace"]
    assert info["server"] == {"redis_version": "7.0.15", "os": "Linux 6.1.0 x86_64", "uptime_in_seconds": 42}
    assert info["memory"]["used_memory"] == 1048576
    assert info["memory"]["mem_fragmentation_ratio"] == 1.25
    assert info["memory"]["maxmemory_policy"] == "noeviction"


def test_info_records_become_dicts() -> None:
    info = parse_info(INFO_TEXT)
    assert info["commandstats"]["cmdstat_get"] == {
        "calls": 2,
        "usec": 3,
        "usec_per_call": 1.5,
        "rejected_calls": 0,
        "failed_calls": 0,
    }
    assert info["commandstats"]["cmdstat_client|setname"]["calls"] == 1
    assert info["errorstats"] == {"errorstat_ERR": {"count": 5}}
    assert info["replication"]["slave0"] == {
        "ip": "127.0.0.1",
        "port": 6380,
        "state": "online",
        "offset": 42,
        "lag": 0,
    }
    assert info["keyspace"]["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}


def test_info_of_an_empty_reply_is_empty() -> None:
    assert parse_info("") == {}


def test_latency_latest_names_redis_and_valkey_columns() -> None:
    redis_reply = [[b"command", 1_700_000_000, 93, 120]]
    frame = latency_latest(redis_reply)
    assert list(frame.columns) == ["time", "latest_ms", "max_ms"]
    assert frame.loc["command", "max_ms"] == 120
    assert frame.loc["command", "time"] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    valkey_reply = [["command", 1_700_000_000, 93, 120, 300, 4], ["fork", 1_700_000_001, 25, 25, 25, 1]]
    frame = latency_latest(valkey_reply)
    assert list(frame.columns) == ["time", "latest_ms", "max_ms", "sum_ms", "count"]
    assert frame.loc["fork", "count"] == 1


def test_latency_latest_keeps_unknown_extra_columns_and_handles_no_events() -> None:
    frame = latency_latest([["command", 1, 2, 3, 4, 5, 6]])
    assert frame.loc["command", "column_6"] == 6
    empty = latency_latest([])
    assert empty.empty
    assert empty.index.name == "event"


def test_latency_history_rows() -> None:
    frame = latency_history([[1_700_000_000, 32], [1_700_000_001, 61]])
    assert frame["latency_ms"].tolist() == [32, 61]
    assert frame["time"].iloc[1] - frame["time"].iloc[0] == pd.Timedelta(seconds=1)


@pytest.mark.parametrize(
    "reply",
    [
        {"get": {"calls": 4, "histogram_usec": {1: 3, 4: 1}}},  # RESP3: maps
        [b"get", [b"calls", 4, b"histogram_usec", [1, 3, 4, 1]]],  # RESP2: flat lists
    ],
    ids=["resp3", "resp2"],
)
def test_latency_histogram_reads_both_protocols(reply: object) -> None:
    frame = latency_histogram(reply)
    assert frame["command"].tolist() == ["get", "get"]
    assert frame["upper_usec"].tolist() == [1, 4]
    assert frame["calls"].tolist() == [3, 1]
    assert frame["cumulative"].tolist() == [0.75, 1.0]


METRICS_TEXT = """# HELP redis_up Information about the Redis instance
# TYPE redis_up gauge
redis_up 1
redis_memory_used_bytes 1.134816e+06
redis_commands_total{cmd="client|setname"} 1
redis_instance_info{os="Linux 6.1 x86_64",redis_version="7.0.15",role="master"} 1
redis_errors_total{err="ERR"} 5
"""


def test_metrics_text_to_rows() -> None:
    frame = parse_metrics(METRICS_TEXT)
    assert frame["metric"].tolist() == [
        "redis_up",
        "redis_memory_used_bytes",
        "redis_commands_total",
        "redis_instance_info",
        "redis_errors_total",
    ]
    assert frame["value"].tolist() == [1.0, 1134816.0, 1.0, 1.0, 5.0]
    assert frame["labels"].iloc[2] == {"cmd": "client|setname"}
    assert frame["labels"].iloc[3] == {"os": "Linux 6.1 x86_64", "redis_version": "7.0.15", "role": "master"}


def test_every_exporter_metric_is_documented_with_its_info_field() -> None:
    assert all(name.startswith("redis_") and field for name, field in EXPORTER_FIELDS.items())
    assert EXPORTER_FIELDS["redis_memory_used_bytes"] == "used_memory"
    assert EXPORTER_FIELDS["redis_keyspace_hits_total"] == "keyspace_hits"


def test_terminal_lines_keep_the_last_redraw_of_each_line() -> None:
    text = (
        "\x1b[0G\x1b[2Kmin: 0, max: 1, avg: 0.10 (10 samples)"
        "\x1b[0G\x1b[2Kmin: 0, max: 4, avg: 0.20 (97 samples) -- 1.00 seconds range\r\n"
        "\x1b[0G\x1b[2Kmin: 0, max: 2, avg: 0.30 (5 samples)"
    )
    assert terminal_lines(text) == [
        "min: 0, max: 4, avg: 0.20 (97 samples) -- 1.00 seconds range",
        "min: 0, max: 2, avg: 0.30 (5 samples)",
    ]
    assert terminal_lines("keys  mem\r\n\r\n5003  2.1M\r\n") == ["keys  mem", "5003  2.1M"]
