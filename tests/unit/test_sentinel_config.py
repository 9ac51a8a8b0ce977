"""sentinel.conf as the sandbox writes it, and the small parsers around Sentinel replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.sandbox.config import format_config
from course.sandbox.sentinel import Monitor, flags_of, sentinel_settings


def test_monitor_lines_name_the_service_after_defining_it() -> None:
    monitor = Monitor("orders", 18001, quorum=2, down_after_ms=1500, failover_timeout_ms=4000)
    assert monitor.directives() == [
        "monitor orders 127.0.0.1 18001 2",
        "down-after-milliseconds orders 1500",
        "failover-timeout orders 4000",
        "parallel-syncs orders 1",
    ]


def test_sentinel_conf_binds_loopback_with_absolute_paths(tmp_path: Path) -> None:
    text = format_config(sentinel_settings(18500, tmp_path, Monitor("mymaster", 18001)))
    assert text.splitlines() == [
        "port 18500",
        "bind 127.0.0.1",
        "protected-mode yes",
        "daemonize no",
        f'dir "{tmp_path.resolve()}"',
        'logfile ""',
        "sentinel monitor mymaster 127.0.0.1 18001 2",
        "sentinel down-after-milliseconds mymaster 30000",
        "sentinel failover-timeout mymaster 180000",
        "sentinel parallel-syncs mymaster 1",
    ]


def test_a_relative_directory_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        sentinel_settings(18500, Path("relative/dir"), Monitor("mymaster", 18001))


@pytest.mark.parametrize(
    "options",
    [
        {"service": "my master"},
        {"service": 'quote"d'},
        {"service": ""},
        {"quorum": 0},
        {"down_after_ms": 0},
        {"failover_timeout_ms": -1},
        {"parallel_syncs": 0},
    ],
)
def test_invalid_monitors_are_refused(options: dict[str, object]) -> None:
    settings: dict[str, object] = {"service": "mymaster", "port": 18001, **options}
    with pytest.raises(ValueError, match=r"service name|quorum|positive"):
        Monitor(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("master", {"master"}),
        ("s_down,slave,disconnected", {"s_down", "slave", "disconnected"}),
        ({"master", "o_down"}, {"master", "o_down"}),
    ],
)
def test_flags_come_as_a_string_in_resp2_and_a_set_in_resp3(flags: object, expected: set[str]) -> None:
    assert flags_of({"flags": flags}) == expected
