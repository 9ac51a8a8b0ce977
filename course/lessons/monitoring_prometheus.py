"""Prometheus for the monitoring lesson: PromQL into pandas, alert rules, promtool, missing tools.

* :class:`PromQL` - instant and range queries and active alerts of any Prometheus, as DataFrames;
* :data:`RULES_FILE` and :func:`shorten_rules` - the standard Redis alert rules, and the same rules
  with durations short enough for a lesson;
* :func:`check_rules` / :func:`run_rule_tests` - ``promtool check rules`` and ``promtool test rules``;
* :class:`AlertWatcher` - records when each alert turned pending, firing and resolved;
* ``%%needs_prometheus`` (:func:`load_ipython_extension`) - a cell that needs Prometheus, promtool
  and redis_exporter runs only where they are installed, and says what to install elsewhere.
"""

from __future__ import annotations

import copy
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from course.sandbox import binaries
from course.sandbox.install import PROGRAMS
from course.sandbox.lifecycle import Managed
from course.sandbox.prometheus import api_get

RULES_FILE = Path(__file__).with_name("redis_alerts.yml")
#: What the Prometheus parts of the lesson run.
TOOLS = ("prometheus", "promtool", "redis_exporter")


# -- which tools are here ----------------------------------------------------------------------


def missing_tools(tools: Sequence[str] = TOOLS) -> list[str]:
    """The tools of ``tools`` this machine lacks (looked up as the sandbox looks them up)."""
    missing = []
    for name in tools:
        try:
            binaries.find_program(name)
        except binaries.RedisNotFoundError:
            missing.append(name)
    return missing


def install_message(missing: Sequence[str]) -> str:
    """What to install for ``missing``: one entry per package (prometheus brings promtool)."""
    packages: dict[tuple[str | None, str | None, str | None], list[str]] = {}
    for name in missing:
        program = PROGRAMS[name]
        packages.setdefault((program.conda, program.apt, program.brew), []).append(name)
    lines = []
    for (conda, apt, brew), names in packages.items():
        lines.append(f"{' and '.join(names)}: install")
        if conda:
            lines.append(f"  conda (any OS):   conda install -c conda-forge {conda}")
        if apt:
            lines.append(f"  Debian/Ubuntu:    sudo apt-get install {apt}")
        if brew:
            lines.append(f"  macOS (Homebrew): brew install {brew}")
    return "\n".join(lines)


_explained: set[str] = set()


def needs_prometheus(line: str, cell: str) -> None:
    """Cell magic: run the cell only where Prometheus, promtool and redis_exporter are installed."""
    from IPython import get_ipython

    from course.notebook import DemoFailed

    missing = missing_tools()
    if missing:
        names = ", ".join(missing)
        if names in _explained:
            print(f"Skipped: this cell needs {names} (see the install hint above).")
        else:
            _explained.add(names)
            print(f"Skipped: this cell needs {names}, which this machine lacks.\n{install_message(missing)}")
        return
    result = get_ipython().run_cell(cell, store_history=False)
    if not result.success:
        raise DemoFailed("the cell above raised an error") from None


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext course.lessons.monitoring_prometheus`` registers ``%%needs_prometheus``."""
    shell.register_magic_function(needs_prometheus, magic_kind="cell", magic_name="needs_prometheus")


# -- queries -----------------------------------------------------------------------------------


def _series_name(labels: Mapping[str, str], label: str | None) -> str:
    if label is not None:
        return labels.get(label, "")
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    name = labels.get("__name__", "")
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"


class PromQL:
    """Queries to one Prometheus (``url`` like ``http://127.0.0.1:9090``), answered as DataFrames."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def query(self, expr: str, at: float | None = None) -> pd.DataFrame:
        """An instant query: one row per series, its labels as columns and ``value`` (float)."""
        params: dict[str, str | float] = {"query": expr}
        if at is not None:
            params["time"] = at
        data = api_get(self.url, "query", **params)
        if data["resultType"] == "scalar":
            return pd.DataFrame([{"value": float(data["result"][1])}])
        rows = [{**item["metric"], "value": float(item["value"][1])} for item in data["result"]]
        return pd.DataFrame(rows, columns=[*sorted({k for row in rows for k in row} - {"value"}), "value"])

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0, *, label: str | None = None
    ) -> pd.DataFrame:
        """A range query: a UTC time index named ``time``, one float column per series.

        Columns are named by the value of ``label`` if given, else by the series' label set.
        """
        data = api_get(self.url, "query_range", query=expr, start=start, end=end, step=step)
        columns = {}
        for item in data["result"]:
            times = pd.to_datetime([float(t) for t, _ in item["values"]], unit="s", utc=True)
            columns[_series_name(item["metric"], label)] = pd.Series(
                [float(v) for _, v in item["values"]], index=times
            )
        frame = pd.DataFrame(columns)
        frame.index.name = "time"
        return frame

    def alerts(self) -> pd.DataFrame:
        """Active (pending or firing) alerts: ``alertname``, ``state``, ``active_at``, labels, ``value``."""
        rows = [
            {
                **alert["labels"],
                "state": alert["state"],
                "active_at": pd.Timestamp(alert["activeAt"]),
                "value": float(alert["value"]),
            }
            for alert in api_get(self.url, "alerts")["alerts"]
        ]
        fixed = ["alertname", "state", "active_at", "value"]
        labels = sorted({k for row in rows for k in row} - set(fixed))
        return pd.DataFrame(rows, columns=fixed + labels)


# -- alert rules -------------------------------------------------------------------------------


def load_rules(path: str | Path = RULES_FILE) -> dict[str, Any]:
    """A rules file as a dict (``groups`` -> ``rules``)."""
    rules: dict[str, Any] = yaml.safe_load(Path(path).read_text())
    return rules


def rule_table(rules: Mapping[str, Any]) -> pd.DataFrame:
    """One row per alerting rule: ``alert``, ``expr``, ``for``, ``severity``."""
    rows = [
        {
            "alert": rule["alert"],
            "expr": " ".join(str(rule["expr"]).split()),
            "for": rule.get("for", "0s"),
            "severity": rule.get("labels", {}).get("severity", ""),
        }
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    return pd.DataFrame(rows).set_index("alert")


def shorten_rules(
    rules: Mapping[str, Any], *, durations: Mapping[str, str], expr_replacements: Mapping[str, str]
) -> dict[str, Any]:
    """A copy of ``rules`` whose ``for:`` durations and expression fragments are replaced.

    ``durations`` maps a production ``for:`` value to the lesson's (``{"2m": "3s"}``);
    ``expr_replacements`` maps text in expressions to its replacement (``{"[1m]": "[5s]"}``).
    Every key must be used at least once, so a changed rules file cannot go unnoticed.
    """
    shortened: dict[str, Any] = copy.deepcopy(dict(rules))
    unused = set(durations) | set(expr_replacements)
    for group in shortened["groups"]:
        for rule in group["rules"]:
            wait = str(rule.get("for", "0m"))
            if wait in durations:
                rule["for"] = durations[wait]
                unused.discard(wait)
            expr = str(rule["expr"])
            for old, new in expr_replacements.items():
                if old in expr:
                    expr = expr.replace(old, new)
                    unused.discard(old)
            rule["expr"] = expr
    if unused:
        raise ValueError(f"not found in the rules: {sorted(unused)}")
    return shortened


def write_rules(rules: Mapping[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(yaml.safe_dump(dict(rules), sort_keys=False, allow_unicode=True))
    return path


class RuleCheckError(RuntimeError):
    """promtool found a rules file invalid; the message is promtool's output."""


def promtool(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``promtool ARGS`` and return what it did (it is not checked)."""
    command = [str(binaries.find_program("promtool")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)


def check_rules(path: str | Path) -> str:
    """``promtool check rules``: its report, or :class:`RuleCheckError` if the file is invalid."""
    result = promtool("check", "rules", str(path))
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise RuleCheckError(output)
    return output


@dataclass(frozen=True)
class RuleTestReport:
    """What ``promtool test rules`` said: ``passed`` and its whole output."""

    passed: bool
    output: str


def without_annotations(rules_text: str) -> str:
    """The same rules without annotations (tests then compare names and labels only)."""
    rules = yaml.safe_load(rules_text)
    for group in rules.get("groups") or []:
        for rule in group.get("rules") or []:
            rule.pop("annotations", None)
    return yaml.safe_dump(rules, sort_keys=False)


def run_rule_tests(
    rules_text: str,
    tests: Iterable[Mapping[str, Any]],
    *,
    evaluation_interval: str = "1m",
    ignore_annotations: bool = False,
) -> RuleTestReport:
    """``promtool test rules`` of ``tests`` (promtool's test-case dicts) against ``rules_text``.

    Everything happens in a temporary directory that is removed afterwards.
    """
    if ignore_annotations:
        rules_text = without_annotations(rules_text)
    with tempfile.TemporaryDirectory(prefix="promtool-") as folder:
        directory = Path(folder)
        (directory / "rules.yml").write_text(rules_text)
        suite = {
            "rule_files": ["rules.yml"],
            "evaluation_interval": evaluation_interval,
            "tests": list(tests),
        }
        (directory / "tests.yml").write_text(yaml.safe_dump(suite, sort_keys=False))
        result = promtool("test", "rules", "tests.yml", cwd=directory)
    return RuleTestReport(result.returncode == 0, (result.stdout + result.stderr).strip())


# -- alert timeline ----------------------------------------------------------------------------


class AlertWatcher(Managed):
    """Polls a Prometheus's alerts in a thread and records, per alert and target, when it turned
    pending, firing and (no longer active) resolved, as Unix times seen from this process.

    ``target_label`` names the label that tells targets apart (``redis`` in the lesson).
    """

    def __init__(self, promql: PromQL, *, target_label: str = "redis", interval: float = 0.2) -> None:
        self.promql = promql
        self.target_label = target_label
        self.interval = interval
        self._events: dict[tuple[str, str], dict[str, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-watcher", daemon=True)
        self.errors: list[Exception] = []

    def start(self) -> AlertWatcher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                alerts = self.promql.alerts()
            except Exception as error:  # recorded, shown by the caller; the watcher keeps going
                if len(self.errors) < 10:
                    self.errors.append(error)
                alerts = None
            if alerts is not None:
                self._record(alerts, time.time())
            self._stop.wait(self.interval)

    def _record(self, alerts: pd.DataFrame, now: float) -> None:
        active = set()
        with self._lock:
            for row in alerts.to_dict("records"):
                key = (str(row["alertname"]), str(row.get(self.target_label, "")))
                active.add(key)
                times = self._events.setdefault(key, {})
                if "resolved" in times:  # it came back: a new episode replaces the old one
                    times.clear()
                times.setdefault("pending", now)
                if row["state"] == "firing":
                    times.setdefault("firing", now)
            for key, times in self._events.items():
                if key not in active and "resolved" not in times:
                    times["resolved"] = now

    def timeline(self) -> pd.DataFrame:
        """One row per (alert, target): Unix times ``pending``, ``firing``, ``resolved`` (NaN: not yet)."""
        with self._lock:
            rows = [
                {
                    "alert": alert,
                    "target": target,
                    **{k: times.get(k) for k in ("pending", "firing", "resolved")},
                }
                for (alert, target), times in sorted(self._events.items())
            ]
        return pd.DataFrame(rows, columns=["alert", "target", "pending", "firing", "resolved"]).astype(
            {"pending": float, "firing": float, "resolved": float}
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
