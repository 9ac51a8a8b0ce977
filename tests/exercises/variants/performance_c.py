"""04_performance, Part C: the hit ratio of a policy on a recorded trace.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

C = cells("part-c")

SIMULATOR_NAIVE = """
def simulate_hit_ratio(trace, capacity, policy):
    if capacity < 1 or policy not in ("allkeys-lru", "allkeys-lfu", "noeviction"):
        raise ValueError((capacity, policy))
    if not trace:
        return 0.0
    cache = {}  # key -> [requests since it entered, time of its last request]
    hits = 0
    for now, key in enumerate(trace):
        if key in cache:
            hits += 1
            cache[key][0] += 1
            cache[key][1] = now
            continue
        if len(cache) == capacity:
            if policy == "noeviction":
                continue
            if policy == "allkeys-lru":
                victim = min(cache, key=lambda k: cache[k][1])
            else:
                victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))
            del cache[victim]
        cache[key] = [1, now]
    return hits / len(trace)
"""


def naive_simulator(old: str, new: str) -> str:
    assert SIMULATOR_NAIVE.count(old) == 1, old
    return SIMULATOR_NAIVE.replace(old, new)


SIMULATOR_LFU_REMEMBERS_EVICTED = (
    naive_simulator(
        "        cache[key] = [1, now]\n",
        "        history[key] = history.get(key, 0) + 1\n        cache[key] = [history[key], now]\n",
    )
    .replace("    hits = 0\n", "    hits = 0\n    history = {}\n")
    .replace(
        "            cache[key][0] += 1\n", "            cache[key][0] += 1\n            history[key] += 1\n"
    )
)

SIMULATOR_WITH_TIMESTAMPS = """
def simulate_hit_ratio(trace: list, capacity: int, policy: str) -> float:
    handlers = {"allkeys-lru", "allkeys-lfu", "noeviction"}
    if policy not in handlers:
        raise ValueError(f"policy {policy}")
    if capacity <= 0:
        raise ValueError("capacity")
    last_seen, frequency, hits = {}, {}, 0
    for tick, key in enumerate(trace, start=1):
        if key in last_seen:
            hits += 1
        elif len(last_seen) >= capacity:
            if policy == "noeviction":
                continue
            rank = (lambda k: last_seen[k]) if policy == "allkeys-lru" else (lambda k: (frequency[k], last_seen[k]))
            victim = sorted(last_seen, key=rank)[0]
            del last_seen[victim], frequency[victim]
        frequency[key] = frequency.get(key, 0) + 1
        last_seen[key] = tick
    return float(hits) / len(trace) if trace else 0.0
"""

MUTANTS = [
    Variant(
        "LRU without refreshing on a hit (FIFO)",
        *C,
        replace=(("                recency.move_to_end(key)\n", ""),),
    ),
    Variant(
        "LRU holds one key too many",
        *C,
        replace=(("if len(recency) >= capacity:", "if len(recency) > capacity:"),),
    ),
    Variant(
        "LFU ties by insertion order",
        *C,
        source=naive_simulator(
            "victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))",
            "victim = min(cache, key=lambda k: cache[k][0])",
        ),
    ),
    Variant("LFU remembers counts of evicted keys", *C, source=SIMULATOR_LFU_REMEMBERS_EVICTED),
    Variant(
        "LFU is LRU",
        *C,
        source=naive_simulator(
            "victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))",
            "victim = min(cache, key=lambda k: cache[k][1])",
        ),
    ),
    Variant(
        "noeviction evicts",
        *C,
        source=naive_simulator('            if policy == "noeviction":\n                continue\n', ""),
    ),
    Variant(
        "noeviction caches the refused key anyway",
        *C,
        replace=(
            (
                "            elif len(cached) < capacity:\n                cached.add(key)",
                "            else:\n                cached.add(key)",
            ),
        ),
    ),
    Variant(
        "percent instead of a ratio",
        *C,
        replace=(
            (
                "return hits / len(trace) if trace else 0.0",
                "return 100 * hits / len(trace) if trace else 0.0",
            ),
        ),
    ),
    Variant(
        "hits per miss",
        *C,
        replace=(
            (
                "return hits / len(trace) if trace else 0.0",
                "return hits / max(1, len(trace) - hits) if trace else 0.0",
            ),
        ),
    ),
    Variant(
        "empty trace divides by zero",
        *C,
        replace=(("return hits / len(trace) if trace else 0.0", "return hits / len(trace)"),),
    ),
    Variant(
        "unknown policies accepted",
        *C,
        replace=(
            (
                '    if policy not in POLICIES_SIMULATED:\n        raise ValueError(f"unknown policy {policy!r}; expected one of {POLICIES_SIMULATED}")\n',
                "",
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant("simulator with one dict and linear scans", *C, source=SIMULATOR_NAIVE),
    Variant("simulator with timestamps and sorted()", *C, source=SIMULATOR_WITH_TIMESTAMPS),
]
