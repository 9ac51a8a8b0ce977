"""06_monitoring, Part C: alert rules for a described server, checked by `promtool`.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

C = cells("part-c")

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

MUTANTS = [
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
]

ALTERNATIVES = [
    Variant("C: YAML by hand, two groups, ratio thresholds, rate()", *C, source=RULES_BY_HAND),
    Variant("C: filtered division, increase >= 1, for: 0s", *C, source=RULES_FILTER_ZERO),
]
