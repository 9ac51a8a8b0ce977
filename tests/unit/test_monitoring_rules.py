"""The alert rules, their lesson copy, the dashboard's PromQL and the alert timeline, on canned inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from course.lessons import monitoring_prometheus as prom
from course.lessons.monitoring_dashboard import PANELS, dashboard_queries, panel_query
from course.lessons.monitoring_prometheus import (
    RULES_FILE,
    AlertWatcher,
    PromQL,
    install_message,
    load_rules,
    missing_tools,
    rule_table,
    shorten_rules,
    without_annotations,
)
from course.sandbox.binaries import RedisNotFoundError
from course.sandbox.install import PROGRAMS

FAST = {"durations": {"2m": "3s"}, "expr_replacements": {"[1m]": "[5s]", "60 * 60 * 24": "10"}}


def test_the_rules_file_holds_the_six_standard_alerts() -> None:
    table = rule_table(load_rules())
    assert set(table.index) == {
        "RedisDown",
        "RedisOutOfConfiguredMaxmemory",
        "RedisTooManyConnections",
        "RedisRejectedConnections",
        "RedisMissingBackup",
        "RedisReplicationBroken",
    }
    assert set(table["severity"]) == {"critical", "warning"}
    assert "redis_memory_max_bytes > 0" in table.loc["RedisOutOfConfiguredMaxmemory", "expr"]
    assert "redis_config_maxclients" in table.loc["RedisTooManyConnections", "expr"]


def test_shortened_rules_change_only_durations() -> None:
    original = load_rules()
    short = shorten_rules(original, **FAST)
    table, short_table = rule_table(original), rule_table(short)
    assert short_table.loc["RedisTooManyConnections", "for"] == "3s"
    assert short_table.loc["RedisDown", "for"] == "0m"
    assert "[5s]" in short_table.loc["RedisRejectedConnections", "expr"]
    assert short_table.loc["RedisMissingBackup", "expr"].endswith("> 10")
    assert original == load_rules(), "the original is not modified"
    unchanged = short_table.index.difference(
        ["RedisRejectedConnections", "RedisMissingBackup", "RedisReplicationBroken"]
    )
    assert (short_table.loc[unchanged, "expr"] == table.loc[unchanged, "expr"]).all()


def test_a_replacement_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\[7m\]"):
        shorten_rules(load_rules(), durations={}, expr_replacements={"[7m]": "[1s]"})
    with pytest.raises(ValueError, match="9h"):
        shorten_rules(load_rules(), durations={"9h": "1s"}, expr_replacements={})


def test_without_annotations_keeps_everything_else() -> None:
    stripped = yaml.safe_load(without_annotations(RULES_FILE.read_text()))
    original = load_rules()
    for group, kept in zip(original["groups"], stripped["groups"], strict=True):
        for rule, rule_kept in zip(group["rules"], kept["rules"], strict=True):
            rule.pop("annotations", None)
            assert rule == rule_kept


def test_dashboard_queries_name_the_server_in_every_selector() -> None:
    queries = dashboard_queries('redis="cache"', window="7s")
    assert len(queries) == sum(len(panel.lines) for panel in PANELS)
    assert not queries["promql"].str.contains("{sel}", regex=False).any()
    assert queries["promql"].str.contains('redis="cache"', regex=False).all()
    latency = queries[queries["panel"] == "Server latency"]["promql"].iloc[0]
    assert 'redis_commands_total{redis="cache",cmd="mget"}[7s]' in latency
    assert panel_query("up{{sel}}", "job='x'", "1s") == "up{job='x'}"


def alerts(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"alertname": a, "state": s, "redis": t} for a, s, t in rows])


def test_alert_watcher_records_pending_firing_and_resolved() -> None:
    watcher = AlertWatcher(PromQL("http://127.0.0.1:1"))
    watcher._record(alerts(("RedisDown", "pending", "replica")), 10.0)
    watcher._record(alerts(("RedisDown", "firing", "replica"), ("RedisDown", "pending", "cache")), 11.0)
    watcher._record(alerts(("RedisDown", "firing", "replica")), 12.0)
    timeline = watcher.timeline().set_index("target")
    assert timeline.loc["replica", ["pending", "firing"]].tolist() == [10.0, 11.0]
    assert pd.isna(timeline.loc["replica", "resolved"])
    assert timeline.loc["cache", "pending"] == 11.0
    assert pd.isna(timeline.loc["cache", "firing"])
    assert timeline.loc["cache", "resolved"] == 12.0
    watcher._record(alerts(("RedisDown", "pending", "cache")), 20.0)  # it comes back: a new episode
    timeline = watcher.timeline().set_index("target")
    assert timeline.loc["cache", "pending"] == 20.0
    assert pd.isna(timeline.loc["cache", "resolved"])


def test_an_empty_timeline_has_its_columns() -> None:
    timeline = AlertWatcher(PromQL("http://127.0.0.1:1")).timeline()
    assert list(timeline.columns) == ["alert", "target", "pending", "firing", "resolved"]
    assert timeline.empty


def test_missing_tools_are_named_with_one_hint_per_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def nothing(name: str) -> Path:
        raise RedisNotFoundError(PROGRAMS[name].hint())

    monkeypatch.setattr(prom.binaries, "find_program", nothing)
    assert missing_tools() == ["prometheus", "promtool", "redis_exporter"]
    message = install_message(missing_tools())
    assert message.count("apt-get install prometheus\n") == 1, "prometheus and promtool share one package"
    assert "apt-get install prometheus-redis-exporter" in message
    assert "brew install redis_exporter" in message
