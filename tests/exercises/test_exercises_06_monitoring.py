"""06_monitoring: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite, Variant

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

# -- Part A: metrics sampler -------------------------------------------------------------------

SAMPLER_SCHEDULED = """
import datetime
import numpy as np

def sample_info(client, fields, samples=5, interval=1.0, counters=()):
    if samples < 2 or interval < 0 or not set(counters) <= set(fields):
        raise ValueError("bad arguments")
    stamps, values = [], []
    next_at = time.monotonic()
    for _ in range(samples):
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        reply = client.execute_command("INFO")
        stamps.append(datetime.datetime.now(datetime.timezone.utc))
        values.append([reply[field] for field in fields])
        next_at = max(next_at + interval, time.monotonic() + interval)
    frame = pd.DataFrame(values, columns=list(fields), index=pd.to_datetime(stamps).rename("time"))
    elapsed = np.diff((frame.index - frame.index[0]).total_seconds().to_numpy())
    for counter in counters:
        now = frame[counter].to_numpy(dtype=float)
        increase = np.where(now[1:] >= now[:-1], now[1:] - now[:-1], now[1:])
        frame[counter + "_per_s"] = np.concatenate([[np.nan], increase / elapsed])
    return frame
"""

SAMPLER_LOOP = """
def sample_info(client: redis.Redis, fields, samples=5, interval=1.0, counters=()):
    counters = tuple(counters)
    for name in counters:
        if name not in fields:
            raise ValueError(name)
    if samples <= 1:
        raise ValueError("samples")
    if interval < 0.0:
        raise ValueError("interval")
    snapshots = []
    while len(snapshots) < samples:
        if snapshots:
            time.sleep(interval)
        info = client.info("default")
        snapshots.append((pd.Timestamp.now("UTC"), info))
    data = {name: [info[name] for _, info in snapshots] for name in fields}
    for name in counters:
        rates = [float("nan")]
        for (t0, old), (t1, new) in zip(snapshots, snapshots[1:]):
            grown = new[name] - old[name]
            rates.append((new[name] if grown < 0 else grown) / (t1 - t0).total_seconds())
        data[f"{name}_per_s"] = rates
    return pd.DataFrame(data, index=pd.DatetimeIndex([t for t, _ in snapshots], name="time"))
"""

# -- Part B: hit ratio and headroom ------------------------------------------------------------

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

# -- Part C: alert rules -----------------------------------------------------------------------

RULES_BY_HAND = '''
def limit_rules(memory_percent=85, clients_percent=80, for_duration="5m"):
    return f"""
groups:
  - name: memory
    rules:
      - alert: RedisMemoryNearLimit
        expr: redis_memory_used_bytes > redis_memory_max_bytes * {memory_percent / 100} and redis_memory_max_bytes > 0
        for: {for_duration}
        labels:
          severity: warning
        annotations:
          description: "{{{{ $value }}}} bytes used"
  - name: connections
    rules:
      - alert: RedisClientsNearLimit
        expr: redis_connected_clients > redis_config_maxclients * {clients_percent / 100}
        for: {for_duration}
        labels:
          severity: warning
      - alert: RedisConnectionsRejected
        expr: rate(redis_rejected_connections_total[5m]) > 0
        labels:
          severity: critical
      - record: redis:memory_used:ratio
        expr: redis_memory_used_bytes / redis_memory_max_bytes
"""
'''

RULES_FILTER_ZERO = """
def limit_rules(memory_percent=85, clients_percent=80, for_duration="5m"):
    def alert(name, expr, severity, wait=None):
        rule = {"alert": name, "expr": expr, "labels": {"severity": severity}}
        if wait:
            rule["for"] = wait
        return rule
    return yaml.safe_dump({"groups": [{"name": "limits", "rules": [
        alert("RedisMemoryNearLimit", f"100 * redis_memory_used_bytes / (redis_memory_max_bytes > 0) > {memory_percent}", "warning", for_duration),
        alert("RedisClientsNearLimit", f"(redis_connected_clients * 100) / redis_config_maxclients > {clients_percent}", "warning", for_duration),
        alert("RedisConnectionsRejected", "increase(redis_rejected_connections_total[5m]) >= 1", "critical", "0s"),
    ]}]})
"""

# -- Part D: health check ----------------------------------------------------------------------

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


def variant(name: str, part: tuple[str, str], *pairs: tuple[str, str]) -> Variant:
    return Variant(name, *part, replace=pairs)


MUTANTS = [
    # Part A
    variant("A: a reset gives a negative rate", A, ("        increase[reset] = frame[name][reset]\n", "")),
    variant(
        "A: a reset gives a rate of 0", A, ("increase[reset] = frame[name][reset]", "increase[reset] = 0")
    ),
    variant(
        "A: a reset gives no rate (NaN)",
        A,
        ("increase[reset] = frame[name][reset]", "increase[reset] = float('nan')"),
    ),
    variant(
        "A: an unchanged counter counts as a reset", A, ("reset = increase < 0", "reset = increase <= 0")
    ),
    variant(
        "A: divides by interval, not by the time between snapshots",
        A,
        ('frame[f"{name}_per_s"] = increase / seconds', 'frame[f"{name}_per_s"] = increase / interval'),
    ),
    variant(
        "A: rate since the first snapshot",
        A,
        (
            'frame[f"{name}_per_s"] = increase / seconds',
            'frame[f"{name}_per_s"] = (frame[name] - frame[name].iloc[0]) / (frame.index - frame.index[0]).total_seconds()',
        ),
    ),
    variant("A: no pause between snapshots", A, ("            time.sleep(interval)\n", "            pass\n")),
    variant(
        "A: one snapshot too few", A, ("for number in range(samples):", "for number in range(samples - 1):")
    ),
    variant(
        "A: the first rate is 0, not NaN",
        A,
        (
            'frame[f"{name}_per_s"] = increase / seconds',
            'frame[f"{name}_per_s"] = (increase / seconds).fillna(0)',
        ),
    ),
    variant("A: naive timestamps", A, ('pd.Timestamp.now(tz="UTC")', "pd.Timestamp.now()")),
    variant("A: rate columns named _rate", A, ('f"{name}_per_s"', 'f"{name}_rate"')),
    variant(
        "A: an unknown field becomes NaN",
        A,
        ("{name: info[name] for name in fields}", "{name: info.get(name) for name in fields}"),
    ),
    variant("A: columns in alphabetical order", A, ("columns=fields)", "columns=sorted(fields))")),
    variant(
        "A: counters outside fields not refused up front",
        A,
        (
            '    unknown = [name for name in counters if name not in fields]\n    if unknown:\n        raise ValueError(f"counters must be among the fields: {unknown}")\n',
            "",
        ),
    ),
    variant("A: samples=1 accepted", A, ("    if samples < 2:\n", "    if samples < 1:\n")),
    variant("A: index not named", A, ('pd.DatetimeIndex(times, name="time")', "pd.DatetimeIndex(times)")),
    # Part B
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
    # Part C
    variant(
        "C: memory alert without for:",
        C,
        (
            '            "for": for_duration,\n            "labels": {"severity": "warning"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
            '            "labels": {"severity": "warning"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
        ),
    ),
    variant(
        "C: memory at the threshold fires (>=)", C, ("* 100 > {memory_percent}", "* 100 >= {memory_percent}")
    ),
    variant(
        "C: clients at the threshold fire (>=)",
        C,
        ("* 100 > {clients_percent}", "* 100 >= {clients_percent}"),
    ),
    variant(
        "C: no maxmemory guard (+Inf fires)",
        C,
        (
            '            "expr": f"redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent}"\n                    " and on (instance, job) redis_memory_max_bytes > 0",',
            '            "expr": f"redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent}",',
        ),
    ),
    variant("C: memory threshold hard-coded", C, ("* 100 > {memory_percent}", "* 100 > 85")),
    variant("C: clients threshold hard-coded", C, ("* 100 > {clients_percent}", "* 100 > 80")),
    variant(
        "C: for_duration ignored",
        C,
        (
            'def limit_rules(memory_percent: float = 85, clients_percent: float = 80, for_duration: str = "5m") -> str:\n    ### BEGIN SOLUTION\n',
            'def limit_rules(memory_percent: float = 85, clients_percent: float = 80, for_duration: str = "5m") -> str:\n    ### BEGIN SOLUTION\n    for_duration = "5m"\n',
        ),
    ),
    variant(
        "C: memory compared as a fraction with a percent",
        C,
        (
            "redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent}",
            "redis_memory_used_bytes / redis_memory_max_bytes > {memory_percent}",
        ),
    ),
    variant(
        "C: clients compared with the percent as a count",
        C,
        (
            "redis_connected_clients / redis_config_maxclients * 100 > {clients_percent}",
            "redis_connected_clients > {clients_percent}",
        ),
    ),
    variant(
        "C: rejected: any past rejection fires",
        C,
        ('"increase(redis_rejected_connections_total[5m]) > 0"', '"redis_rejected_connections_total > 0"'),
    ),
    variant(
        "C: rejected: delta misses rejections after a restart",
        C,
        (
            '"increase(redis_rejected_connections_total[5m]) > 0"',
            '"delta(redis_rejected_connections_total[5m]) > 0"',
        ),
    ),
    variant(
        "C: rejected: a restart counts as a change",
        C,
        (
            '"increase(redis_rejected_connections_total[5m]) > 0"',
            '"changes(redis_rejected_connections_total[5m]) > 0"',
        ),
    ),
    variant(
        "C: rejected: a 1 minute window",
        C,
        ("redis_rejected_connections_total[5m]", "redis_rejected_connections_total[1m]"),
    ),
    variant(
        "C: rejected: a 10 minute window",
        C,
        ("redis_rejected_connections_total[5m]", "redis_rejected_connections_total[10m]"),
    ),
    variant(
        "C: rejected waits for for_duration",
        C,
        (
            '            "expr": "increase(redis_rejected_connections_total[5m]) > 0",\n',
            '            "expr": "increase(redis_rejected_connections_total[5m]) > 0",\n            "for": for_duration,\n',
        ),
    ),
    variant(
        "C: memory aggregated (labels lost)",
        C,
        (
            'f"redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent}"\n                    " and on (instance, job) redis_memory_max_bytes > 0"',
            'f"max(redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent})"',
        ),
    ),
    variant(
        "C: memory severity critical",
        C,
        (
            '"for": for_duration,\n            "labels": {"severity": "warning"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
            '"for": for_duration,\n            "labels": {"severity": "critical"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
        ),
    ),
    variant(
        "C: alert misnamed", C, ('"alert": "RedisClientsNearLimit"', '"alert": "RedisTooManyConnections"')
    ),
    variant(
        "C: a windowed average instead of for:",
        C,
        (
            'f"redis_memory_used_bytes / redis_memory_max_bytes * 100 > {memory_percent}"',
            'f"avg_over_time(redis_memory_used_bytes[{for_duration}]) / redis_memory_max_bytes * 100 > {memory_percent}"',
        ),
        (
            '            "for": for_duration,\n            "labels": {"severity": "warning"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
            '            "labels": {"severity": "warning"},\n            "annotations": {"summary": "{{ $labels.instance }}: memory',
        ),
    ),
    # Part D
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
    Variant("A: scheduled snapshots, numpy rates, execute_command", *A, source=SAMPLER_SCHEDULED),
    Variant("A: a plain loop over snapshots", *A, source=SAMPLER_LOOP),
    Variant("B: fractions and a dict built step by step", *B, source=RATIO_AND_HEADROOM_ALTERNATIVE),
    Variant("C: YAML by hand, two groups, ratio thresholds, rate()", *C, source=RULES_BY_HAND),
    Variant("C: filtered division, increase >= 1, for: 0s", *C, source=RULES_FILTER_ZERO),
    Variant("D: three INFO sections, monotonic clock", *D, source=HEALTH_ALTERNATIVE),
]


class TestExercises(ExerciseSuite):
    module = "06_monitoring"
    mutants = MUTANTS
    alternatives = ALTERNATIVES
