"""The config writer renders Python values as redis.conf lines."""

from __future__ import annotations

from pathlib import Path

from course.sandbox.config import format_config


def test_format_config_renders_redis_syntax(tmp_path: Path) -> None:
    text = format_config(
        {"save": ["900 1", "300 10"], "appendonly": True, "dir": tmp_path, "requirepass": ""}
    )
    assert text.splitlines() == [
        "save 900 1",
        "save 300 10",
        "appendonly yes",
        f'dir "{tmp_path}"',
        'requirepass ""',
    ]
