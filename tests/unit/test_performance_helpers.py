"""The performance lesson's pure helpers: Zipf traces, RESP request counting, redis-benchmark CSV."""

from __future__ import annotations

from collections import Counter

import pytest
import redis

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
