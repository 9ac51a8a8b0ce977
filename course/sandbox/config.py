"""Render Python mappings as redis.conf (and sentinel.conf) lines."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

ConfigValue = str | int | float | bool | Path | Sequence[str]
Config = Mapping[str, ConfigValue]


def format_config(config: Config) -> str:
    """Render a mapping as redis.conf lines.

    Strings are written as Redis config syntax (``"save": "900 1 300 10"``); ``""`` becomes
    ``""``; booleans become yes/no; paths are quoted absolute paths (``--dir`` changes the working
    directory, so relative paths would break); a list or tuple repeats the directive.
    """
    lines = []
    for name, value in config.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, bool):
                text = "yes" if item else "no"
            elif isinstance(item, Path):
                text = json.dumps(str(item.resolve()))
            else:
                text = str(item)
            lines.append(f"{name} {text if text else chr(34) * 2}")
    return "\n".join(lines) + "\n"
