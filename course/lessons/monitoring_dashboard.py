"""A Redis dashboard drawn from Prometheus queries: memory, clients, ops/s, hit ratio, latency, alerts.

Each panel is a few PromQL expressions over redis_exporter's metrics; ``{sel}`` in an expression
stands for the label matchers of the server shown (``redis="cache"``). :func:`draw_dashboard`
runs them as range queries and draws one figure of a fixed size; the last panel shows when each
alert was pending and firing, from an :class:`~course.lessons.monitoring_prometheus.AlertWatcher`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course.lessons.monitoring_prometheus import PromQL
from course.plotting import apply_style
from course.settings import COURSE_ROOT

DASHBOARD_SIZE = (11.0, 6.5)


@dataclass(frozen=True)
class Panel:
    """One chart: a title, the unit of its y axis, and (legend, PromQL template) lines."""

    title: str
    ylabel: str
    lines: tuple[tuple[str, str], ...]


def _rate(metric: str, extra: str = "") -> str:
    return f"rate({metric}{{{{sel}}{extra}}}[{{window}}])"


PANELS = (
    Panel(
        "Memory",
        "MB",
        (
            ("used_memory", "redis_memory_used_bytes{{sel}} / 1e6"),
            ("maxmemory", "redis_memory_max_bytes{{sel}} / 1e6"),
        ),
    ),
    Panel(
        "Clients",
        "connections",
        (
            ("connected_clients", "redis_connected_clients{{sel}}"),
            ("maxclients", "redis_config_maxclients{{sel}}"),
        ),
    ),
    Panel("Throughput", "commands per second", (("all commands", _rate("redis_commands_processed_total")),)),
    Panel(
        "Hit ratio",
        "hits / lookups",
        (
            (
                "keyspace hits / (hits + misses)",
                f"{_rate('redis_keyspace_hits_total')} / ({_rate('redis_keyspace_hits_total')}"
                f" + {_rate('redis_keyspace_misses_total')})",
            ),
        ),
    ),
    Panel(
        "Server latency",
        "µs per call",
        tuple(
            (
                name.upper(),
                _rate("redis_commands_duration_seconds_total", ',cmd="' + name + '"')
                + " / "
                + _rate("redis_commands_total", ',cmd="' + name + '"')
                + " * 1e6",
            )
            for name in ("mget", "set")
        ),
    ),
)


def panel_query(template: str, selector: str, window: str) -> str:
    """A panel's PromQL for one server: ``{sel}`` -> the label matchers, ``{window}`` -> the range."""
    return template.replace("{sel}", selector).replace("{window}", window)


def dashboard_queries(selector: str, window: str = "5s") -> pd.DataFrame:
    """Every panel's queries for one server, as a table (panel, line, PromQL)."""
    rows = [
        {"panel": panel.title, "line": legend, "promql": panel_query(template, selector, window)}
        for panel in PANELS
        for legend, template in panel.lines
    ]
    return pd.DataFrame(rows)


def _time(value: object) -> float | None:
    """A Unix time from a timeline cell, or ``None`` for NaN (not yet)."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _alerts_panel(ax: Axes, alerts: pd.DataFrame, origin: float, start: float, end: float) -> None:
    for row, alert in enumerate(alerts.to_dict("records")):
        pending, firing, resolved = (_time(alert[key]) for key in ("pending", "firing", "resolved"))
        finish = end if resolved is None else resolved
        if pending is not None:
            until = finish if firing is None else firing
            ax.barh(row, until - pending, left=pending - origin, height=0.5, color="tab:orange", alpha=0.4)
        if firing is not None:
            ax.barh(row, finish - firing, left=firing - origin, height=0.5, color="tab:red")
        label = f"{str(alert['alert']).removeprefix('Redis')} ({alert['target']})"
        ax.text(start - origin, row + 0.3, label, fontsize="x-small", va="bottom")
    ax.set_yticks([])
    ax.set_ylim(-0.5, len(alerts))


def draw_dashboard(
    promql: PromQL,
    *,
    selector: str,
    origin: float,
    end: float | None = None,
    start: float | None = None,
    step: float = 1.0,
    window: str = "5s",
    alerts: pd.DataFrame | None = None,
    marks: dict[str, float] | None = None,
    title: str = "Redis dashboard",
) -> Figure:
    """The dashboard between ``start`` (default ``origin``) and ``end`` (default now).

    The x axis counts seconds since ``origin`` (a Unix time, for example the start of a load).
    ``alerts`` is an :meth:`AlertWatcher.timeline` table (pending in orange, firing in red);
    ``marks`` draws a labelled vertical line at each of its Unix times (``{"fix": t}``).
    """
    apply_style()
    end = time.time() if end is None else end
    start = origin if start is None else start
    figure = Figure(figsize=DASHBOARD_SIZE, layout="constrained")
    axes = figure.subplots(2, 3).flatten()
    for ax, panel in zip(axes, PANELS, strict=False):
        for legend, template in panel.lines:
            frame = promql.query_range(panel_query(template, selector, window), start, end, step)
            for column in frame.columns:  # one per matching series
                seconds = (
                    pd.DatetimeIndex(frame.index) - pd.Timestamp(origin, unit="s", tz="UTC")
                ).total_seconds()
                style = "--" if legend in ("maxmemory", "maxclients") else "-"
                ax.plot(seconds, frame[column], style, label=legend)
        ax.set_title(panel.title)
        ax.set_ylabel(panel.ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="x-small", loc="lower right")
    alert_axes = axes[len(PANELS)]
    alert_axes.set_title("Alerts: pending, firing")
    alert_axes.set_ylabel("alert (server)")
    if alerts is not None and len(alerts):
        _alerts_panel(alert_axes, alerts, origin, start, end)
    for ax in axes:
        ax.set_xlim(start - origin, end - origin)
        ax.set_xlabel("seconds since the load started")
        for name, at in (marks or {}).items():
            ax.axvline(at - origin, color="grey", linestyle=":", linewidth=1)
            ax.annotate(
                name, (at - origin, 1), xycoords=("data", "axes fraction"), fontsize="x-small", color="grey"
            )
    figure.suptitle(title)
    return figure


def save_figure(figure: Figure, name: str, folder: Path | None = None) -> Path:
    """Save ``figure`` as ``<folder>/<name>`` (default folder: ``artifacts/`` of the course) and
    return the path."""
    folder = folder or COURSE_ROOT / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    figure.savefig(path)
    return path
