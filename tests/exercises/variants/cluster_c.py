"""02_cluster, Part C: wait for a failover and return the new master.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

C = cells("part-c")

RETURNS_THE_REPLICA_AT_ONCE = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines():
        fields = line.split()
        if fields[3] == old_master_id:
            return fields[0]
    raise TimeoutError("the old master has no replica")
"""

RETURNS_WHEN_FLAGGED_FAIL = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line.split() for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()]
        old = next(fields for fields in lines if fields[0] == old_master_id)
        if "fail" in old[2].split(","):
            return next(fields[0] for fields in lines if fields[3] == old_master_id)
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_ALL_OK = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    heir = next(
        line.split()[0]
        for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()
        if line.split()[3] == old_master_id
    )
    while time.monotonic() < deadline:
        if all("cluster_state:ok" in client.execute_command("CLUSTER", "INFO") for client in nodes):
            return heir
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_THE_NEW_MASTER_SAYS_SO = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    lines = [line.split() for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()]
    heir = next(fields[0] for fields in lines if fields[3] == old_master_id)
    by_id = {client.execute_command("CLUSTER", "MYID"): client for client in nodes}
    while time.monotonic() < deadline:
        if by_id[heir].execute_command("ROLE")[0] == "master":
            return heir
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_THE_FIRST_NODE_AGREES = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    first = nodes[0]

    def lines():
        return [line.split() for line in first.execute_command("CLUSTER", "NODES").splitlines()]

    wanted = next(fields[8:] for fields in lines() if fields[0] == old_master_id)
    while time.monotonic() < deadline:
        for fields in lines():
            if fields[0] != old_master_id and "master" in fields[2] and fields[8:] == wanted:
                if "cluster_state:ok" in first.execute_command("CLUSTER", "INFO"):
                    return fields[0]
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

FAILOVER_WITH_CLUSTER_SLOTS = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    end = time.monotonic() + timeout

    def owners(client):
        return {(first, last): holders[0][2] for first, last, *holders in client.execute_command("CLUSTER", "SLOTS")}

    ranges = [span for span, owner in owners(nodes[0]).items() if owner == old_master_id]
    while time.monotonic() < end:
        try:
            maps = [owners(client) for client in nodes]
            heirs = {m.get(span) for m in maps for span in ranges}
            ok = all("cluster_state:ok" in client.execute_command("CLUSTER", "INFO") for client in nodes)
            if ok and len(heirs) == 1 and None not in heirs and old_master_id not in heirs:
                return heirs.pop()
        except redis.ConnectionError:
            pass
        time.sleep(0.1)
    raise TimeoutError(old_master_id)
"""

FAILOVER_WATCHING_THE_REPLICAS = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    started = time.monotonic()

    def table(client):
        rows = {}
        for line in client.execute_command("CLUSTER", "NODES").splitlines():
            fields = line.split()
            rows[fields[0]] = {"flags": fields[2], "master": fields[3], "slots": fields[8:]}
        return rows

    first = table(nodes[0])
    wanted = [s for s in first[old_master_id]["slots"] if not s.startswith("[")]
    candidates = [node_id for node_id, row in first.items() if row["master"] == old_master_id]
    while time.monotonic() - started < timeout:
        time.sleep(0.02)
        views = [table(client) for client in nodes]
        infos = [client.execute_command("CLUSTER", "INFO") for client in nodes]
        if not all("cluster_state:ok" in info for info in infos):
            continue
        for candidate in candidates:
            if all("master" in v[candidate]["flags"] and all(s in v[candidate]["slots"] for s in wanted) for v in views):
                return candidate
    raise TimeoutError("timed out")
"""

MUTANTS = [
    Variant(
        "returns as soon as the new master says so itself", *C, source=RETURNS_WHEN_THE_NEW_MASTER_SAYS_SO
    ),
    Variant("returns once the first node agrees", *C, source=RETURNS_WHEN_THE_FIRST_NODE_AGREES),
    Variant(
        "skips the last node",
        *C,
        replace=(
            ("views = [view(client) for client in nodes]", "views = [view(client) for client in nodes[:-1]]"),
            (
                'states = [client.execute_command("CLUSTER", "INFO") for client in nodes]',
                'states = [client.execute_command("CLUSTER", "INFO") for client in nodes[:-1]]',
            ),
        ),
    ),
    Variant("returns the replica at once", *C, source=RETURNS_THE_REPLICA_AT_ONCE),
    Variant("returns once the old master is flagged fail", *C, source=RETURNS_WHEN_FLAGGED_FAIL),
    Variant(
        "returns when every node says ok (still true right after the kill)", *C, source=RETURNS_WHEN_ALL_OK
    ),
    Variant(
        "returns None instead of raising TimeoutError",
        *C,
        replace=(
            ('raise TimeoutError(f"no failover of {old_master_id} within {timeout} s")', "return None"),
        ),
    ),
    Variant(
        "raises RuntimeError instead of TimeoutError",
        *C,
        replace=(("raise TimeoutError(", "raise RuntimeError("),),
    ),
    Variant(
        "timeout taken as milliseconds",
        *C,
        replace=(
            ("deadline = time.monotonic() + timeout\n", "deadline = time.monotonic() + timeout / 1000\n"),
        ),
    ),
]

ALTERNATIVES = [
    Variant("wait_for_failover on CLUSTER SLOTS", *C, source=FAILOVER_WITH_CLUSTER_SLOTS),
    Variant(
        "wait_for_failover watching the old master's replicas", *C, source=FAILOVER_WATCHING_THE_REPLICAS
    ),
]
