"""03_persistence, Part A: save points.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("part-a")

SAVE_POINTS_WITH_A_REGEX = r"""
import re as _re

def parse_save_points(conf_text):
    points = None
    for raw in conf_text.splitlines():
        match = _re.match(r"\s*save\s+(.*?)\s*$", raw, _re.IGNORECASE)
        if not match:
            continue
        args = match.group(1).split()
        if args == ['""']:
            points = []
            continue
        if len(args) % 2 or not all(_re.fullmatch(r"-?\d+", a) for a in args):
            raise ValueError(raw)
        for i in range(0, len(args), 2):
            seconds, changes = int(args[i]), int(args[i + 1])
            if seconds <= 0 or changes < 0:
                raise ValueError(raw)
            points = (points if points is not None else []) + [(seconds, changes)]
    return [(3600, 1), (300, 100), (60, 10000)] if points is None else points

def snapshot_due(save_points, seconds_since_save, changes):
    for seconds, needed in save_points:
        if seconds_since_save >= seconds + 1 and changes - needed >= 0:
            return True
    return False
"""

MUTANTS = [
    Variant(
        "snapshot after exactly `seconds` (>= instead of >)",
        *A,
        replace=(("seconds_since_save > seconds", "seconds_since_save >= seconds"),),
    ),
    Variant(
        "needs more than `changes` (> instead of >=)",
        *A,
        replace=(("changes >= needed", "changes > needed"),),
    ),
    Variant("every save point must hold", *A, replace=(("return any(changes", "return all(changes"),)),
    Variant(
        'save "" ignored instead of clearing',
        *A,
        replace=(("            points = []\n            continue\n", "            continue\n"),),
    ),
    Variant(
        "each save line replaces the previous ones",
        *A,
        replace=(("points = (points or []) + pairs", "points = pairs"),),
    ),
    Variant(
        "only the first pair of a line",
        *A,
        replace=(("pairs = list(zip(numbers[::2], numbers[1::2]))", "pairs = [(numbers[0], numbers[1])]"),),
    ),
    Variant(
        "no default when the file has no save line",
        *A,
        replace=(("return list(DEFAULT_SAVE_POINTS) if points is None else points", "return points or []"),),
    ),
    Variant(
        "commented-out save lines are read",
        *A,
        replace=(
            (
                'if not words or words[0].startswith("#") or words[0].lower() != "save":',
                'if not words or words[0].lower().lstrip("#") != "save":',
            ),
        ),
    ),
    Variant(
        "any directive containing 'save'",
        *A,
        replace=(('words[0].lower() != "save"', '"save" not in words[0].lower()'),),
    ),
    Variant(
        "case-sensitive directive name", *A, replace=(('words[0].lower() != "save"', 'words[0] != "save"'),)
    ),
    Variant(
        "values Redis rejects are accepted",
        *A,
        replace=(
            (
                "        if any(seconds < 1 or changes < 0 for seconds, changes in pairs):\n"
                '            raise ValueError(f"seconds must be >= 1 and changes >= 0: {line!r}")\n',
                "",
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant("save points with a regular expression", *A, source=SAVE_POINTS_WITH_A_REGEX),
]
