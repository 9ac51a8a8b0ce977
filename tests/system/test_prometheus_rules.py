"""The standard rules pass promtool and fire when they should; the promtool helpers report failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.lessons.monitoring_prometheus import (
    RULES_FILE,
    RuleCheckError,
    check_rules,
    load_rules,
    run_rule_tests,
    shorten_rules,
    write_rules,
)

LABELS = 'instance="exporter:9121", job="redis"'
EXPECTED = {"instance": "exporter:9121", "job": "redis"}


def series(metric: str, values: str) -> dict[str, str]:
    return {"series": f"{metric}{{{LABELS}}}", "values": values}


def case(input_series: list[dict[str, str]], checks: list[tuple[str, str, str | None]]) -> dict[str, object]:
    """``checks``: (eval time, alert name, severity if it must fire at that time, else None)."""
    return {
        "interval": "1m",
        "input_series": input_series,
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": name,
                "exp_alerts": [{"exp_labels": {**EXPECTED, "severity": severity}}] if severity else [],
            }
            for at, name, severity in checks
        ],
    }


def test_the_rules_and_their_lesson_copy_pass_promtool(tmp_path: Path) -> None:
    assert "SUCCESS: 6 rules found" in check_rules(RULES_FILE)
    fast = shorten_rules(
        load_rules(), durations={"2m": "3s"}, expr_replacements={"[1m]": "[5s]", "60 * 60 * 24": "10"}
    )
    assert "SUCCESS: 6 rules found" in check_rules(write_rules(fast, tmp_path / "fast.yml"))


def test_an_invalid_rules_file_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(\n")
    with pytest.raises(RuleCheckError, match=r"broken\.yml"):
        check_rules(broken)


STANDARD_CASES = [
    case([series("redis_up", "1 1 0 0 0")], [("1m", "RedisDown", None), ("2m", "RedisDown", "critical")]),
    case(
        [series("redis_memory_used_bytes", "95x10"), series("redis_memory_max_bytes", "100x10")],
        [("1m", "RedisOutOfConfiguredMaxmemory", None), ("3m", "RedisOutOfConfiguredMaxmemory", "warning")],
    ),
    case(
        [series("redis_memory_used_bytes", "95x10"), series("redis_memory_max_bytes", "0x10")],
        [("5m", "RedisOutOfConfiguredMaxmemory", None)],
    ),
    case(
        [series("redis_connected_clients", "95x10"), series("redis_config_maxclients", "100x10")],
        [("1m", "RedisTooManyConnections", None), ("3m", "RedisTooManyConnections", "warning")],
    ),
    case(
        [series("redis_rejected_connections_total", "0 0 0 2 2 2 2")],
        [("2m", "RedisRejectedConnections", None), ("3m", "RedisRejectedConnections", "critical")],
    ),
    case(
        [series("redis_rdb_last_save_timestamp_seconds", "0x2000")],
        [("1h", "RedisMissingBackup", None), ("25h", "RedisMissingBackup", "critical")],
    ),
    case(
        [series("redis_connected_slaves", "1 1 1 0 0 0 0")],
        [("2m", "RedisReplicationBroken", None), ("3m", "RedisReplicationBroken", "critical")],
    ),
]


def test_the_standard_rules_fire_when_they_should_and_only_then() -> None:
    report = run_rule_tests(RULES_FILE.read_text(), STANDARD_CASES, ignore_annotations=True)
    assert report.passed, report.output


def test_a_failed_expectation_is_reported_with_promtool_output() -> None:
    wrong = case([series("redis_up", "1x5")], [("3m", "RedisDown", "critical")])
    report = run_rule_tests(RULES_FILE.read_text(), [wrong], ignore_annotations=True)
    assert not report.passed
    assert "RedisDown" in report.output


def test_annotations_are_compared_unless_ignored() -> None:
    down = case([series("redis_up", "0x5")], [("1m", "RedisDown", "critical")])
    assert not run_rule_tests(RULES_FILE.read_text(), [down]).passed, "annotations are compared"
    assert run_rule_tests(RULES_FILE.read_text(), [down], ignore_annotations=True).passed
