"""04_performance, Part B: a top-N memory report, with `SCAN`.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("part-b")

MUTANTS = [
    Variant(
        "KEYS instead of SCAN",
        *B,
        replace=(
            (
                "cursor, keys = client.scan(cursor, match=match, count=500)",
                "cursor, keys = 0, client.keys(match)",
            ),
        ),
    ),
    Variant(
        "only the first SCAN page",
        *B,
        replace=(("        if cursor == 0:\n            break\n", "        break\n"),),
    ),
    Variant(
        "smallest first",
        *B,
        replace=(('(-row["bytes"], row["key"])', '(row["bytes"], row["key"])'),),
    ),
    Variant("one row too many", *B, replace=(("rows[:n]", "rows[:n + 1]"),)),
    Variant(
        "MEMORY USAGE with the default 5 samples",
        *B,
        replace=(("pipe.memory_usage(key, samples=0)", "pipe.memory_usage(key)"),),
    ),
    Variant("match ignored", *B, replace=(("match=match, count=500", "count=500"),)),
    Variant(
        "ties left in SCAN order",
        *B,
        replace=(
            (
                'rows.sort(key=lambda row: (-row["bytes"], row["key"]))',
                'rows.sort(key=lambda row: -row["bytes"])',
            ),
        ),
    ),
    Variant(
        "ties in reverse key order",
        *B,
        replace=(
            (
                'rows.sort(key=lambda row: (-row["bytes"], row["key"]))',
                'rows.sort(key=lambda row: (row["bytes"], row["key"]), reverse=True)',
            ),
        ),
    ),
    Variant(
        "encoding reported as the type",
        *B,
        replace=(("pipe.type(key)", 'pipe.object("encoding", key)'),),
    ),
    Variant(
        "no ValueError for n < 1",
        *B,
        replace=(('    if n < 1:\n        raise ValueError("n must be at least 1")\n', ""),),
    ),
    Variant(
        "a key deleted during the report keeps a row (0 bytes)",
        *B,
        replace=(
            (
                "            if size is not None:  # None: the key was deleted since SCAN returned it\n"
                '                rows.append({"key": key, "type": kind, "bytes": int(size)})',
                '            rows.append({"key": key, "type": kind, "bytes": int(size or 0)})',
            ),
        ),
    ),
    Variant(
        "empty report without columns",
        *B,
        replace=(("pd.DataFrame(rows[:n], columns=REPORT_COLUMNS)", "pd.DataFrame(rows[:n])"),),
    ),
]

ALTERNATIVES = [
    Variant(
        "report with scan_iter, one MEMORY USAGE per key and sort_values",
        *B,
        source="""
def memory_report(client, n=10, match="*"):
    if n <= 0:
        raise ValueError(n)
    sizes = {}
    for key in client.scan_iter(match=match):
        size = client.memory_usage(key, samples=0)
        if size is not None:
            sizes[key] = size
    frame = pd.DataFrame({"key": list(sizes), "type": [client.type(k) for k in sizes], "bytes": list(sizes.values())},
                         columns=["key", "type", "bytes"])
    frame = frame.sort_values(["bytes", "key"], ascending=[False, True]).head(n)
    return frame.reset_index(drop=True)
""",
    ),
    Variant(
        "report with heapq.nsmallest",
        *B,
        source="""
def memory_report(client, n=10, match="*"):
    if n < 1:
        raise ValueError("n")
    entries = []
    cursor = None
    while cursor != 0:
        cursor, keys = client.scan(cursor or 0, match=match, count=50)
        for key in keys:
            size = client.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
            if size is not None:
                entries.append((-int(size), key))
    top = heapq.nsmallest(n, entries)
    return pd.DataFrame([(key, client.type(key), -size) for size, key in top], columns=["key", "type", "bytes"])
""",
    ),
]
