"""Prometheus and redis_exporter as sandbox processes: loopback, private directories, readiness,
a scrape seen through the API, alert rules, clear errors, and nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from course.lessons.monitoring_prometheus import PromQL
from course.sandbox import binaries
from course.sandbox.leftovers import sweep_leftovers
from course.sandbox.prometheus import (
    ExporterStartError,
    Prometheus,
    PrometheusAPIError,
    PrometheusStartError,
    RedisExporter,
    http_get,
)
from course.sandbox.servers import RedisServer
from course.settings import sandbox_root

ALWAYS_FIRING = """
groups:
  - name: test
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: info}
"""


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listening(pid: int) -> set[str]:
    return {
        c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    }


def wait_for(predicate: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


class Stack:
    def __init__(self, server: RedisServer, exporter: RedisExporter, prometheus: Prometheus) -> None:
        self.server, self.exporter, self.prometheus = server, exporter, prometheus


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    rules = tmp_path_factory.mktemp("rules") / "always.yml"
    rules.write_text(ALWAYS_FIRING)
    with (
        RedisServer({"maxclients": 123}) as server,
        RedisExporter(server.url) as exporter,
        Prometheus([(exporter.address, {"redis": "main"})], rule_files=[rules]) as prometheus,
    ):
        yield Stack(server, exporter, prometheus)


def test_both_listen_on_loopback_only_in_private_directories(stack: Stack) -> None:
    for process in (stack.exporter, stack.prometheus):
        assert process.pid is not None
        assert listening(process.pid) == {"127.0.0.1"}, f"{process.program} listens beyond loopback"
        assert process.dir.parent == sandbox_root()
        assert Path(psutil.Process(process.pid).cwd()) == process.dir
    assert (stack.prometheus.dir / "data").is_dir(), "the TSDB lives in Prometheus's own directory"
    assert sorted(p.name for p in stack.prometheus.rules_dir.iterdir()) == ["00-always.yml"]
    assert stack.exporter.dir != stack.prometheus.dir


def test_readiness_endpoints_answer(stack: Stack) -> None:
    assert http_get(f"{stack.prometheus.url}/-/ready")[0] == 200
    status, body = http_get(f"{stack.exporter.url}/metrics")
    assert status == 200
    assert b"redis_up 1" in body


def test_a_scrape_is_seen_through_the_api(stack: Stack) -> None:
    stack.prometheus.wait_for_targets(timeout=30)
    promql = PromQL(stack.prometheus.url)
    up = promql.query("redis_up")
    assert up[["redis", "job", "instance", "value"]].to_dict("records") == [
        {"redis": "main", "job": "redis", "instance": stack.exporter.address, "value": 1.0}
    ]
    assert promql.query("redis_config_maxclients")["value"].tolist() == [123.0]
    now = time.time()
    assert wait_for(lambda: len(promql.query_range("redis_up", now - 5, time.time(), 1)) >= 2)
    series = promql.query_range("redis_up", now - 5, time.time(), 1, label="redis")
    assert list(series.columns) == ["main"]
    assert (series["main"] == 1.0).all()
    assert str(series.index.tz) == "UTC"


def test_rules_are_evaluated_and_alerts_fire(stack: Stack) -> None:
    promql = PromQL(stack.prometheus.url)
    assert wait_for(lambda: "firing" in promql.alerts()["state"].tolist())
    alerts = promql.alerts()
    assert alerts[["alertname", "severity", "state"]].to_dict("records") == [
        {"alertname": "AlwaysFiring", "severity": "info", "state": "firing"}
    ]


def test_reload_applies_new_rules(stack: Stack, tmp_path: Path) -> None:
    other = tmp_path / "other.yml"
    other.write_text(ALWAYS_FIRING.replace("AlwaysFiring", "AlsoFiring"))
    original = list(stack.prometheus.rule_files)
    try:
        stack.prometheus.reload(rule_files=[other])
        names = lambda: {r["name"] for g in stack.prometheus.api("rules")["groups"] for r in g["rules"]}  # noqa: E731
        assert wait_for(lambda: names() == {"AlsoFiring"})
    finally:
        stack.prometheus.reload(rule_files=original)


def test_a_bad_query_raises_with_prometheus_message(stack: Stack) -> None:
    with pytest.raises(PrometheusAPIError, match="parse"):
        PromQL(stack.prometheus.url).query("rate(redis_up[")


def test_close_leaves_nothing_behind(server: RedisServer) -> None:
    exporter = RedisExporter(server.url).start()
    prometheus = Prometheus([exporter.address]).start()
    pids = [exporter.pid, prometheus.pid]
    dirs = [exporter.dir, prometheus.dir]
    prometheus.close()
    exporter.close()
    prometheus.close()  # idempotent
    assert not any(alive(pid) for pid in pids if pid is not None)
    assert not any(path.exists() for path in dirs)


def test_an_invalid_rules_file_fails_the_start_with_prometheus_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: rate(\n")
    prometheus = Prometheus(rule_files=[broken], start_timeout=30)
    try:
        with pytest.raises(PrometheusStartError) as raised:
            prometheus.start()
        message = str(raised.value)
        assert "exited with code" in message
        assert "broken.yml" in message, "the error quotes Prometheus's own log"
        assert not prometheus.running
    finally:
        prometheus.close()


def test_a_bad_exporter_option_fails_its_start_with_its_log(server: RedisServer) -> None:
    exporter = RedisExporter(server.url, options=["-no-such-flag"])
    try:
        with pytest.raises(ExporterStartError, match="redis_exporter exited with code") as raised:
            exporter.start()
        assert "-web.listen-address" in str(raised.value), "the error quotes the exporter's log"
    finally:
        exporter.close()


def test_missing_programs_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Path:
        raise binaries.RedisNotFoundError(binaries.PROGRAMS[name].hint())

    monkeypatch.setattr(binaries, "find_program", missing)
    before = set(sandbox_root().iterdir()) if sandbox_root().exists() else set()
    with pytest.raises(binaries.RedisNotFoundError, match="apt-get install prometheus-redis-exporter"):
        RedisExporter("redis://127.0.0.1:1")
    with pytest.raises(binaries.RedisNotFoundError, match="brew install prometheus"):
        Prometheus()
    after = set(sandbox_root().iterdir()) if sandbox_root().exists() else set()
    assert after == before, "nothing is created before the program is found"


OWNER = textwrap.dedent(
    """
    import json, sys, time
    from course.sandbox.prometheus import Prometheus, RedisExporter
    from course.sandbox.servers import RedisServer
    server = RedisServer().start()
    exporter = RedisExporter(server.url).start()
    prometheus = Prometheus([exporter.address]).start()
    processes = [server, exporter, prometheus]
    report = {"pids": [p.pid for p in processes], "dirs": [str(p.dir) for p in processes]}
    print(json.dumps(report), flush=True)
    time.sleep(600)
    """
)


def test_they_die_with_their_owner_and_the_next_start_sweeps() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        pids, dirs = started["pids"], [Path(d) for d in started["dirs"]]
        assert all(alive(pid) for pid in pids)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        assert wait_for(lambda: not any(alive(pid) for pid in pids), timeout=10), "outlived their owner"
        assert all(path.exists() for path in dirs), "nothing has swept yet"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    removed = sweep_leftovers()  # what every next start runs first
    assert set(dirs) <= set(removed)
    assert not any(path.exists() for path in dirs)
