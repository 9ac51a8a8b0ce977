"""Prometheus and redis_exporter as sandbox processes, started the way Redis servers are.

Both are :class:`course.sandbox.process.SandboxProcess` subclasses: each listens on one claimed
port of 127.0.0.1 only, keeps everything (configuration, rules, the TSDB, its log) in its own
private directory, dies with the process that started it and quotes its log when a start fails::

    with RedisExporter(server.url) as exporter, Prometheus([exporter.address]) as prometheus:
        prometheus.wait_for_targets()
        prometheus.api("query", query="redis_up")

``RedisExporter`` serves the metrics of one Redis server (``/metrics`` is ready when it answers).
``Prometheus`` scrapes every target each ``scrape_interval`` seconds and evaluates its rule files
each ``evaluation_interval`` seconds; it is ready when ``/-/ready`` answers 200. A missing
program raises :class:`course.sandbox.binaries.RedisNotFoundError` saying what to install, before
anything is started.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from course.sandbox import binaries
from course.sandbox.process import SandboxProcess, SandboxStartError

#: Never send loopback requests through a proxy from the environment (HTTP_PROXY and friends).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


#: The programs 06_monitoring runs besides Redis.
MONITORING_TOOLS = ("prometheus", "promtool", "redis_exporter")


def monitoring_tools() -> dict[str, str | None]:
    """Each monitoring tool's version and path (``"2.42.0 (/usr/bin/prometheus)"``), ``None`` if missing."""
    found: dict[str, str | None] = {}
    for name in MONITORING_TOOLS:
        try:
            path = binaries.find_program(name)
        except binaries.RedisNotFoundError:
            found[name] = None
            continue
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        match = re.search(r"(?:version|Exporter) v?(\d+\.\d+\.\d+)", result.stdout + result.stderr)
        found[name] = f"{match[1] if match else 'unknown version'} ({path})"
    return found


class ExporterStartError(SandboxStartError):
    """redis_exporter did not come up; the message ends with the tail of its log."""


class PrometheusStartError(SandboxStartError):
    """Prometheus did not come up; the message ends with the tail of its log."""


class PrometheusAPIError(RuntimeError):
    """The Prometheus HTTP API refused a request (a bad query, an unknown endpoint)."""


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """Status and body of a GET (an HTTP error status is returned, not raised)."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def api_get(base_url: str, endpoint: str, **params: str | float) -> Any:
    """``GET <base_url>/api/v1/<endpoint>?params`` of any Prometheus: the reply's ``data``.

    Raises :class:`PrometheusAPIError` with Prometheus's own message when it refuses (a bad
    query, an unknown endpoint).
    """
    query = urllib.parse.urlencode({key: str(value) for key, value in params.items()})
    url = f"{base_url}/api/v1/{endpoint}" + (f"?{query}" if query else "")
    status, body = http_get(url, timeout=30)
    try:
        reply = json.loads(body)
    except ValueError:
        raise PrometheusAPIError(f"{endpoint} answered {status}: {body[:200]!r}") from None
    if reply.get("status") != "success":
        raise PrometheusAPIError(f"{endpoint}: {reply.get('errorType')}: {reply.get('error')}")
    return reply["data"]


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=1.0)[0] == 200
    except (OSError, urllib.error.URLError):
        return False


def _seconds(value: float) -> str:
    """A Prometheus duration: ``1.0`` -> ``"1000ms"``."""
    return f"{round(value * 1000)}ms"


class RedisExporter(SandboxProcess):
    """oliver006/redis_exporter for one Redis server, serving ``/metrics`` on a claimed port."""

    start_error = ExporterStartError
    log_name = "exporter.log"
    program = "redis_exporter"

    def __init__(
        self,
        redis_url: str,
        *,
        name: str = "redis-exporter",
        options: Sequence[str] = (),
        start_timeout: float = 10.0,
    ) -> None:
        self.executable = binaries.find_program("redis_exporter")
        super().__init__(name=name, start_timeout=start_timeout)
        self.redis_url = redis_url
        self.options = tuple(options)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def argv(self) -> list[str]:
        return [
            str(self.executable),
            "-redis.addr",
            self.redis_url,
            "-web.listen-address",
            self.address,
            "-redis-only-metrics",  # no Go runtime metrics of the exporter itself
            *self.options,
        ]

    def is_ready(self) -> bool:
        return _answers(f"{self.url}/metrics")

    def metrics(self) -> str:
        """The text ``/metrics`` serves now (each call makes the exporter read the server)."""
        status, body = http_get(f"{self.url}/metrics", timeout=10)
        if status != 200:
            raise RuntimeError(f"{self.url}/metrics answered {status}: {body[:200]!r}")
        return body.decode()


class Prometheus(SandboxProcess):
    """A Prometheus server that scrapes ``targets`` and evaluates ``rule_files``, on loopback only.

    ``targets`` are ``host:port`` addresses, or ``(address, labels)`` pairs whose labels are added
    to every series scraped from that target. Rule files are copied into the private directory at
    each start (and at :meth:`reload`), so the sandbox never reads a file someone edits meanwhile.
    """

    start_error = PrometheusStartError
    log_name = "prometheus.log"
    program = "prometheus"

    def __init__(
        self,
        targets: Iterable[str | tuple[str, Mapping[str, str]]] = (),
        *,
        rule_files: Iterable[str | Path] = (),
        scrape_interval: float = 1.0,
        evaluation_interval: float = 1.0,
        job: str = "redis",
        name: str = "prometheus",
        start_timeout: float = 30.0,
    ) -> None:
        if scrape_interval <= 0 or evaluation_interval <= 0:
            raise ValueError("scrape_interval and evaluation_interval must be positive")
        self.executable = binaries.find_program("prometheus")
        super().__init__(name=name, start_timeout=start_timeout)
        self.targets = [(t, {}) if isinstance(t, str) else (t[0], dict(t[1])) for t in targets]
        self.rule_files = [Path(path).resolve() for path in rule_files]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.job = job

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def config_path(self) -> Path:
        return self.dir / "prometheus.yml"

    @property
    def rules_dir(self) -> Path:
        return self.dir / "rules"

    def settings(self) -> dict[str, Any]:
        """The configuration file's content (``prometheus.yml``)."""
        return {
            "global": {
                "scrape_interval": _seconds(self.scrape_interval),
                "scrape_timeout": _seconds(min(self.scrape_interval, 10.0)),
                "evaluation_interval": _seconds(self.evaluation_interval),
            },
            "rule_files": [str(self.rules_dir / "*.yml")],
            "scrape_configs": [
                {
                    "job_name": self.job,
                    "static_configs": [
                        {"targets": [address], "labels": labels} for address, labels in self.targets
                    ],
                }
            ],
        }

    def prepare(self) -> None:
        shutil.rmtree(self.rules_dir, ignore_errors=True)
        self.rules_dir.mkdir()
        for index, path in enumerate(self.rule_files):
            shutil.copyfile(path, self.rules_dir / f"{index:02d}-{path.stem}.yml")
        self.config_path.write_text(yaml.safe_dump(self.settings(), sort_keys=False))

    def argv(self) -> list[str]:
        return [
            str(self.executable),
            f"--config.file={self.config_path}",
            f"--web.listen-address={self.address}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            "--storage.tsdb.retention.time=1d",
            "--web.enable-lifecycle",  # POST /-/reload re-reads the configuration and rules
        ]

    def is_ready(self) -> bool:
        return _answers(f"{self.url}/-/ready")

    # -- the HTTP API -----------------------------------------------------------------------------

    def api(self, endpoint: str, **params: str | float) -> Any:
        """``GET /api/v1/<endpoint>?params``: the ``data`` of a successful reply, else an error."""
        return api_get(self.url, endpoint, **params)

    def reload(self, *, rule_files: Iterable[str | Path] | None = None) -> None:
        """Apply new rule files (or re-read the current ones) without a restart."""
        if rule_files is not None:
            self.rule_files = [Path(path).resolve() for path in rule_files]
        self.prepare()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")  # noqa: S310 - http://127.0.0.1
        with _OPENER.open(request, timeout=30) as response:
            if response.status != 200:
                raise PrometheusAPIError(f"/-/reload answered {response.status}")

    def wait_for_targets(self, timeout: float = 15.0) -> None:
        """Wait until every target has been scraped successfully at least once."""
        deadline = time.monotonic() + timeout
        while True:
            active = self.api("targets", state="active")["activeTargets"]
            if len(active) == len(self.targets) and all(t["health"] == "up" for t in active):
                return
            if time.monotonic() >= deadline:
                states = {t["scrapeUrl"]: (t["health"], t.get("lastError")) for t in active}
                raise TimeoutError(f"targets not up within {timeout:g} s: {states}\n{self.log_tail()}")
            time.sleep(0.1)
