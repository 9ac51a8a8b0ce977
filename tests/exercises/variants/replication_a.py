"""02_cluster, replication notebook, Part A: wait until the replicas have caught up.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("catch-up")

VALIDATION = """    for index, replica in enumerate(replicas):
        info = replica.info("replication")
        if info.get("role") != "slave" or int(info.get("master_port", -1)) != port:
            raise ValueError(f"replica {index} does not replicate from the master on port {port}")
"""

POLL = 'behind = [max(0, target - int(r.info("replication")["slave_repl_offset"])) for r in replicas]'

CATCH_UP_TRACKING_PENDING = """
def wait_for_catch_up(master, replicas, timeout):
    end = time.time() + timeout
    port = master.connection_pool.connection_kwargs["port"]
    infos = [r.info("replication") for r in replicas]
    if any(i.get("role") != "slave" or i.get("master_port") != port for i in infos):
        raise ValueError("not a replica of this master")
    goal = master.info("replication")["master_repl_offset"]
    first, pending = {}, set(range(len(replicas)))
    while True:
        for i in sorted(pending):
            done = replicas[i].info("replication")["slave_repl_offset"]
            first.setdefault(i, max(goal - done, 0))
            if done >= goal:
                pending.discard(i)
        if not pending:
            return [first[i] for i in range(len(replicas))]
        if time.time() > end:
            now = [goal - replicas[i].info("replication")["slave_repl_offset"] if i in pending else 0
                   for i in range(len(replicas))]
            raise TimeoutError(f"still behind: {now}", now)
        time.sleep(0.005)
"""

CATCH_UP_WITH_FULL_INFO = """
def wait_for_catch_up(master, replicas, timeout):
    started = time.monotonic()
    mine = master.info()
    for r in replicas:
        theirs = r.info()
        if theirs["role"] != "slave" or theirs["master_port"] != mine["tcp_port"]:
            raise ValueError(f"{theirs['role']} replicating from {theirs.get('master_port')}")
    target = mine["master_repl_offset"]

    def lags():
        return [max(target - r.info()["slave_repl_offset"], 0) for r in replicas]

    seen = lags()
    current = seen
    while any(current):
        if time.monotonic() - started > timeout:
            raise TimeoutError("replicas behind", current)
        time.sleep(0.02)
        current = lags()
    return seen
"""

MUTANTS = [
    Variant("replicas not checked", *A, replace=((VALIDATION, ""),)),
    Variant(
        "only the role checked, not the master's port",
        *A,
        replace=(
            (
                'if info.get("role") != "slave" or int(info.get("master_port", -1)) != port:',
                'if info.get("role") != "slave":',
            ),
        ),
    ),
    Variant(
        "caught up only past the target (offset > target)",
        *A,
        replace=(
            (
                "        if not any(behind):\n",
                '        if all(int(r.info("replication")["slave_repl_offset"]) > target for r in replicas):\n',
            ),
        ),
    ),
    Variant(
        "lag counted from PSYNC's offset + 1",
        *A,
        replace=(
            ("            first_look = behind\n", "            first_look = [b + 1 for b in behind]\n"),
        ),
    ),
    Variant(
        "target read again at every poll",
        *A,
        replace=(
            (
                "    while True:\n        behind",
                '    while True:\n        target = int(master.info("replication")["master_repl_offset"])\n        behind',
            ),
        ),
    ),
    Variant(
        "each replica's INFO read once, before the loop",
        *A,
        replace=(
            (
                "    first_look = None\n",
                '    first_look = None\n    offsets = [int(r.info("replication")["slave_repl_offset"]) for r in replicas]\n',
            ),
            (POLL, "behind = [max(0, target - offset) for offset in offsets]"),
        ),
    ),
    Variant(
        "returns when any replica caught up", *A, replace=(("if not any(behind):", "if not all(behind):"),)
    ),
    Variant("returns the lags at the end (zeros)", *A, replace=(("return first_look", "return behind"),)),
    Variant("returns a dict", *A, replace=(("return first_look", "return dict(enumerate(first_look))"),)),
    Variant(
        "gives up at once when a replica is behind",
        *A,
        replace=(("if time.monotonic() >= deadline:", "if True:"),),
    ),
    Variant(
        "timeout taken as milliseconds",
        *A,
        replace=(
            ("deadline = time.monotonic() + timeout\n", "deadline = time.monotonic() + timeout / 1000\n"),
        ),
    ),
    Variant(
        "times out with redis.exceptions.TimeoutError",
        *A,
        replace=(("raise TimeoutError(", "raise redis.exceptions.TimeoutError("),),
    ),
    Variant(
        "TimeoutError without the lags",
        *A,
        replace=(
            (
                'raise TimeoutError(f"{lagging} after {timeout} s", behind)',
                'raise TimeoutError(f"{lagging}")',
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant("wait_for_catch_up tracking the replicas still behind", *A, source=CATCH_UP_TRACKING_PENDING),
    Variant("wait_for_catch_up on full INFO", *A, source=CATCH_UP_WITH_FULL_INFO),
]
