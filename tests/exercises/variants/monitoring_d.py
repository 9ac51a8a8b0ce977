"""06_monitoring, Part D: a health check with a structured verdict.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

D = cells("part-d")

HEALTH_ALTERNATIVE = """
def health_check(client, *, max_ping_ms=50.0, min_free_memory=0.10, max_backup_age_s=None):
    if not max_ping_ms > 0 or not (0 <= min_free_memory < 1):
        raise ValueError("bad threshold")
    levels = ["ok", "warning", "critical"]
    try:
        began = time.monotonic()
        client.execute_command("PING")
        latency = (time.monotonic() - began) * 1e3
        replication = client.info("replication")
        persistence = client.info("persistence")
        memory = client.info("memory")
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return {"status": "critical", "ping_ms": None, "role": None, "problems": ["unreachable"],
                "checks": {"ping": "critical", **dict.fromkeys(["replication", "persistence", "memory"], "unknown")}}
    found = {}
    notes = []
    found["ping"] = "ok" if latency <= max_ping_ms else "warning"
    if found["ping"] != "ok":
        notes.append(f"slow ping {latency} ms")
    is_replica = replication["role"] in ("slave", "replica")
    found["replication"] = "critical" if is_replica and replication.get("master_link_status") != "up" else "ok"
    if found["replication"] != "ok":
        notes.append("master link down")
    if persistence["rdb_last_bgsave_status"] != "ok":
        found["persistence"] = "critical"
        notes.append("bgsave failed")
    elif max_backup_age_s is not None and time.time() - persistence["rdb_last_save_time"] > max_backup_age_s:
        found["persistence"] = "warning"
        notes.append("backup too old")
    else:
        found["persistence"] = "ok"
    limit = memory["maxmemory"]
    if limit and memory["used_memory"] / limit > 1 - min_free_memory:
        found["memory"] = "warning"
        notes.append("memory nearly full")
    else:
        found["memory"] = "ok"
    status = levels[max(levels.index(v) for v in found.values())]
    return {"status": status, "ping_ms": latency, "role": "replica" if is_replica else "master",
            "checks": found, "problems": notes}
"""

MUTANTS = [
    variant(
        "D: ping in seconds",
        D,
        ("ping_ms = (time.perf_counter() - started) * 1000", "ping_ms = time.perf_counter() - started"),
    ),
    variant(
        "D: ping in microseconds",
        D,
        (
            "ping_ms = (time.perf_counter() - started) * 1000",
            "ping_ms = (time.perf_counter() - started) * 1_000_000",
        ),
    ),
    variant(
        "D: role says slave",
        D,
        ('role = "replica" if info["role"] == "slave" else "master"', 'role = info["role"]'),
    ),
    variant(
        "D: a broken replica link is only a warning",
        D,
        ('judge("replication", "critical" if', 'judge("replication", "warning" if'),
    ),
    variant(
        "D: replication not checked",
        D,
        ('"critical" if role == "replica" and link != "up" else "ok"', '"ok"'),
    ),
    variant("D: a failed save is ignored", D, ('if info["rdb_last_bgsave_status"] != "ok":', "if False:")),
    variant(
        "D: max_backup_age_s=None compared",
        D,
        (
            "stale = max_backup_age_s is not None and age > max_backup_age_s",
            "stale = age > (max_backup_age_s or 0)",
        ),
    ),
    variant(
        "D: backup age never checked",
        D,
        ("stale = max_backup_age_s is not None and age > max_backup_age_s", "stale = False"),
    ),
    variant(
        "D: memory from used_memory_rss",
        D,
        (
            'free = (limit - info["used_memory"]) / limit if limit else 1.0',
            'free = (limit - info["used_memory_rss"]) / limit if limit else 1.0',
        ),
    ),
    variant(
        "D: no maxmemory divides by zero",
        D,
        (
            'free = (limit - info["used_memory"]) / limit if limit else 1.0',
            'free = (limit - info["used_memory"]) / limit',
        ),
    ),
    variant(
        "D: no maxmemory counts as full",
        D,
        (
            'free = (limit - info["used_memory"]) / limit if limit else 1.0',
            'free = (limit - info["used_memory"]) / limit if limit else 0.0',
        ),
    ),
    variant(
        "D: an unreachable server raises",
        D,
        (
            "    except (redis.ConnectionError, redis.TimeoutError) as error:\n",
            "    except redis.TimeoutError as error:\n",
        ),
    ),
    variant(
        "D: unreachable: the other checks critical",
        D,
        (
            '"replication": "unknown", "persistence": "unknown", "memory": "unknown"',
            '"replication": "critical", "persistence": "critical", "memory": "critical"',
        ),
    ),
    variant(
        "D: status from the ping only",
        D,
        ('return {"status": max(checks.values(), key=SEVERITY.get),', 'return {"status": checks["ping"],'),
    ),
    variant(
        "D: status is the first problem",
        D,
        (
            'return {"status": max(checks.values(), key=SEVERITY.get),',
            'return {"status": next((v for v in checks.values() if v != "ok"), "ok"),',
        ),
    ),
    variant(
        "D: no ValueError for max_ping_ms <= 0",
        D,
        ('    if max_ping_ms <= 0:\n        raise ValueError("max_ping_ms must be positive")\n', ""),
    ),
    variant(
        "D: min_free_memory of 1 accepted",
        D,
        ("    if not 0 <= min_free_memory < 1:", "    if not 0 <= min_free_memory <= 1:"),
    ),
    variant("D: no problems listed", D, ("            problems.append(problem)\n", "            pass\n")),
]

ALTERNATIVES = [
    Variant("D: three INFO sections, monotonic clock", *D, source=HEALTH_ALTERNATIVE),
]
