"""The performance lesson's pure helpers: Zipf traces, RESP request counting, redis-benchmark CSV."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import redis

from course.lessons.os_limits import (
    LATENCY_FIELDS,
    NOT_AVAILABLE,
    kernel_setting,
    parse_latency_latest,
    parse_limits,
    parse_listen_backlog,
    process_status,
)
from course.lessons.performance import count_commands, parse_benchmark_csv, zipf_trace

BENCHMARK_CSV = (
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"SET","695111.12","0.084","0.048","0.087","0.119","0.135","0.191"\n'
    '"GET","198019.80","0.076","0.040","0.079","0.103","0.119","0.975"\n'
)


def test_zipf_trace_is_seeded_and_skewed() -> None:
    trace = zipf_trace(1000, 20_000, seed=7)
    assert trace == zipf_trace(1000, 20_000, seed=7)
    assert trace != zipf_trace(1000, 20_000, seed=8)
    counts = Counter(trace)
    assert set(counts) <= {f"key:{i}" for i in range(1000)}
    # Rank 1 gets about 1 / H(1000) ~ 13 % of the requests, rank 10 a tenth of that.
    assert 0.11 < counts["key:0"] / len(trace) < 0.15
    assert 5 < counts["key:0"] / counts["key:9"] < 15
    assert zipf_trace(5, 3, prefix="user:")[0].startswith("user:")
    assert zipf_trace(3, 0) == []


def test_zipf_trace_rejects_an_empty_keyspace() -> None:
    with pytest.raises(ValueError, match="n_keys"):
        zipf_trace(0, 10)


def test_count_commands_reads_packed_requests() -> None:
    connection = redis.connection.Connection()
    packed = b"".join(connection.pack_commands([("SET", "k", "a\r\nb"), ("GET", "k"), ("PING",)]))
    assert count_commands(packed) == 3
    assert count_commands(b"") == 0
    with pytest.raises(ValueError, match="RESP array"):
        count_commands(b"PING\r\n")


def test_parse_benchmark_csv() -> None:
    rows = parse_benchmark_csv(BENCHMARK_CSV)
    assert [row.test for row in rows] == ["SET", "GET"]
    assert rows[0].rps == pytest.approx(695111.12)
    assert rows[1].max_ms == pytest.approx(0.975)
    assert rows[0].p50_ms == pytest.approx(0.087)


def test_parse_benchmark_csv_rejects_other_output() -> None:
    with pytest.raises(ValueError, match="not redis-benchmark CSV"):
        parse_benchmark_csv("SET: 16680.57 requests per second, p50=0.055 msec\n")


PROC_LIMITS = (
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 524288               files     \n"
    "Max locked memory         8388608              8388608              bytes     \n"
)

SS_LISTEN = (
    "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
    "LISTEN 0      4096       127.0.0.1:20222      0.0.0.0:*          \n"
)


def test_open_files_limit_is_read_by_column_names() -> None:
    assert parse_limits(PROC_LIMITS) == {"soft": "1024", "hard": "524288"}
    assert parse_limits(PROC_LIMITS, "Max cpu time") == {"soft": "unlimited", "hard": "unlimited"}
    assert parse_limits("") is None
    assert parse_limits(PROC_LIMITS, "Max nice priority") is None


def test_listen_backlog_is_the_send_q_column() -> None:
    assert parse_listen_backlog(SS_LISTEN) == 4096
    assert parse_listen_backlog(SS_LISTEN.replace("Recv-Q Send-Q", "Send-Q Recv-Q")) == 0
    assert parse_listen_backlog(SS_LISTEN.splitlines()[0]) is None


def test_latency_latest_names_the_four_common_fields_of_every_build() -> None:
    redis_70 = [["command", 1796163450, 364, 364]]
    valkey_9 = [["command", 1796163677, 217, 217, 285, 2], ["fork", 1796163600, 3, 5, 8, 2]]
    assert parse_latency_latest(redis_70) == [
        {"event": "command", "unix time": 1796163450, "latest (ms)": 364, "all-time max (ms)": 364}
    ]
    parsed = parse_latency_latest(valkey_9)
    assert [list(event) for event in parsed] == [list(LATENCY_FIELDS)] * 2
    assert (parsed[1]["event"], parsed[1]["latest (ms)"], parsed[1]["all-time max (ms)"]) == ("fork", 3, 5)
    assert parse_latency_latest([]) == []


def test_kernel_readers_say_what_is_missing(tmp_path: Path) -> None:
    setting = tmp_path / "somaxconn"
    setting.write_text("4096\n")
    assert kernel_setting(setting) == "4096"
    assert kernel_setting(tmp_path / "absent") == NOT_AVAILABLE
    assert process_status(-1, "THP_enabled") == NOT_AVAILABLE
