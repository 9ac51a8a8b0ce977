"""06_monitoring, Part B: the hit ratio and the headroom, with their edge cases.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

B = cells("part-b")

RATIO_AND_HEADROOM_ALTERNATIVE = """
from fractions import Fraction

def hit_ratio(info, previous=None):
    now = (info["keyspace_hits"], info["keyspace_misses"])
    if previous:
        before = (previous["keyspace_hits"], previous["keyspace_misses"])
        if all(a >= b for a, b in zip(now, before)):
            now = tuple(a - b for a, b in zip(now, before))
    try:
        return float(Fraction(now[0], now[0] + now[1]))
    except ZeroDivisionError:
        return None

def headroom(info):
    result = dict.fromkeys(["memory_used", "memory_free_bytes"])
    if info.get("maxmemory", 0) > 0:
        result["memory_used"] = info["used_memory"] / info["maxmemory"]
        result["memory_free_bytes"] = int(info["maxmemory"] - info["used_memory"])
    result["clients_used"] = info["connected_clients"] / info["maxclients"]
    result["clients_free"] = int(info["maxclients"]) - int(info["connected_clients"])
    return result
"""

MUTANTS = [
    variant(
        "B: no lookups is a ratio of 0",
        B,
        ("return hits / lookups if lookups else None", "return hits / lookups if lookups else 0.0"),
    ),
    variant(
        "B: no lookups divides by zero",
        B,
        ("return hits / lookups if lookups else None", "return hits / lookups"),
    ),
    variant("B: previous ignored", B, ("    if previous is not None and hits", "    if False and hits")),
    variant(
        "B: a reset gives negative deltas",
        B,
        (
            'if previous is not None and hits >= previous["keyspace_hits"] and misses >= previous["keyspace_misses"]:',
            "if previous is not None:",
        ),
    ),
    variant(
        "B: a reset only when both counters went down",
        B,
        (
            'if previous is not None and hits >= previous["keyspace_hits"] and misses >= previous["keyspace_misses"]:',
            'if previous is not None and (hits >= previous["keyspace_hits"] or misses >= previous["keyspace_misses"]):',
        ),
    ),
    variant(
        "B: memory from used_memory_rss",
        B,
        (
            'used, limit = info["used_memory"], info["maxmemory"]',
            'used, limit = info["used_memory_rss"], info["maxmemory"]',
        ),
    ),
    variant(
        "B: memory from used_memory_peak",
        B,
        (
            'used, limit = info["used_memory"], info["maxmemory"]',
            'used, limit = info["used_memory_peak"], info["maxmemory"]',
        ),
    ),
    variant(
        "B: no maxmemory divides by zero",
        B,
        ('"memory_used": used / limit if limit else None', '"memory_used": used / limit'),
    ),
    variant(
        "B: no maxmemory is 0 % used",
        B,
        ('"memory_used": used / limit if limit else None', '"memory_used": used / limit if limit else 0.0'),
    ),
    variant(
        "B: free bytes never negative",
        B,
        (
            '"memory_free_bytes": limit - used if limit else None',
            '"memory_free_bytes": max(0, limit - used) if limit else None',
        ),
    ),
    variant(
        "B: memory used as a percentage",
        B,
        (
            '"memory_used": used / limit if limit else None',
            '"memory_used": 100 * used / limit if limit else None',
        ),
    ),
    variant(
        "B: one client slot kept for ourselves",
        B,
        ('"clients_free": maxclients - clients', '"clients_free": maxclients - clients - 1'),
    ),
    variant(
        "B: free bytes as a float",
        B,
        (
            '"memory_free_bytes": limit - used if limit else None',
            '"memory_free_bytes": float(limit - used) if limit else None',
        ),
    ),
]

ALTERNATIVES = [
    Variant("B: fractions and a dict built step by step", *B, source=RATIO_AND_HEADROOM_ALTERNATIVE),
]
