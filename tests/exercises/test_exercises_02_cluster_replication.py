"""02_cluster, replication notebook: the hidden tests reject plausible wrong answers and accept other
correct ones.

Part A runs on a master with two replicas (one made unable to resynchronise); Part B on a master,
two replicas and three Sentinels, with a kill -9 of the master, so each Part B variant costs about
ten seconds. Mutants that retry forever are stopped by the tests' own deadlines (tens of seconds).

One wrong answer is deliberately missing because no behaviour test can tell it apart: Part B writing
an item again after its master acknowledged it and died before ``WAIT`` answered (SET is idempotent;
the tests never kill a master in the middle of a ``WAIT``).
"""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite, Variant

A = ("catch-up-solution", "catch-up-tests")
B = ("writer-solution", "writer-tests")

VALIDATION = """    for index, replica in enumerate(replicas):
        info = replica.info("replication")
        if info.get("role") != "slave" or int(info.get("master_port", -1)) != port:
            raise ValueError(f"replica {index} does not replicate from the master on port {port}")
"""

POLL = 'behind = [max(0, target - int(r.info("replication")["slave_repl_offset"])) for r in replicas]'

CATCH_UP_MUTANTS = [
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

SENTINEL_ONCE = """
def write_through_failover(sentinels, service, items, *, min_acks, wait_ms, give_up_after=30.0):
    for sentinel_host, sentinel_port in sentinels:
        try:
            with redis.Redis(host=sentinel_host, port=sentinel_port, decode_responses=True) as s:
                host, port = s.sentinel_get_master_addr_by_name(service)
            break
        except redis.ConnectionError:
            continue
    client = redis.Redis(host=host, port=port, retry=Retry(NoBackoff(), 0))
    written, at_risk = {}, []
    for key, value in items:
        started = time.monotonic()
        while True:
            try:
                client.set(key, value)
                break
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
                if time.monotonic() - started > give_up_after:
                    raise TimeoutError(key)
                time.sleep(0.05)
        written[key] = f"{host}:{port}"
        if client.wait(min_acks, wait_ms) < min_acks:
            at_risk.append(key)
    return {"written": written, "at_risk": at_risk}
"""

WRITER_MUTANTS = [
    Variant("the master's address is never asked again", *B, source=SENTINEL_ONCE),
    Variant(
        "one retry only",
        *B,
        replace=(
            (
                "                if now - first_failure >= give_up_after:\n",
                "                if now - first_failure >= give_up_after or now != first_failure:\n",
            ),
        ),
    ),
    Variant(
        "only the first Sentinel is asked",
        *B,
        replace=(("        for host, port in sentinels:\n", "        for host, port in sentinels[:1]:\n"),),
    ),
    Variant("WAIT's answer ignored", *B, replace=(("if acks < min_acks:", "if acks < 0:"),)),
    Variant(
        "at risk unless more than min_acks replicas answered",
        *B,
        replace=(("if acks < min_acks:", "if acks <= min_acks:"),),
    ),
    Variant(
        # A RESP2 connection that wrote nothing: WAIT returns at once. (After HELLO 3, Redis 7.0
        # makes WAIT on a new connection wait for everything written so far: not a wrong answer.)
        "WAIT sent on a new connection that wrote nothing",
        *B,
        replace=(
            (
                "            acks = client.wait(min_acks, wait_ms)\n",
                "            acks = redis.Redis(host=host, port=port, protocol=2).wait(min_acks, wait_ms)\n",
            ),
        ),
    ),
    Variant(
        "READONLY not retried",
        *B,
        replace=(
            (
                "            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError) as error:\n",
                "            except (redis.ConnectionError, redis.TimeoutError) as error:\n",
            ),
        ),
    ),
    Variant(
        "gives up with redis.exceptions.TimeoutError",
        *B,
        replace=(
            (
                'raise TimeoutError(f"no master accepted',
                'raise redis.exceptions.TimeoutError(f"no master accepted',
            ),
        ),
    ),
    Variant(
        "give_up_after counted from the call, not from the item's first failure",
        *B,
        replace=(
            (
                "    written, at_risk = {}, []\n",
                "    written, at_risk = {}, []\n    called = time.monotonic()\n",
            ),
            (
                "                first_failure = now if first_failure is None else first_failure\n",
                "                first_failure = called\n",
            ),
        ),
    ),
    Variant(
        "items read all at once",
        *B,
        replace=(("    for key, value in items:\n", "    for key, value in list(items):\n"),),
    ),
    Variant(
        "every key credited to the first master",
        *B,
        replace=(
            (
                "        written[key] = address\n",
                "        written[key] = next(iter(written.values()), address)\n",
            ),
        ),
    ),
]

WRITER_WITH_REDIS_PY_SENTINEL = """
from redis.sentinel import Sentinel as _Sentinel


def write_through_failover(sentinels, service, items, *, min_acks, wait_ms, give_up_after=30.0):
    finder = _Sentinel(sentinels, sentinel_kwargs={"socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)})
    master = finder.master_for(service, socket_timeout=5, retry=Retry(NoBackoff(), 0), decode_responses=True)
    written, at_risk = {}, []
    for key, value in items:
        failing_since = None
        while True:
            try:
                with master.pipeline(transaction=False) as pipe:  # SET and WAIT on one connection
                    pipe.set(key, value)
                    pipe.wait(min_acks, wait_ms)
                    _, acks = pipe.execute()
                break
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > give_up_after:
                    raise TimeoutError(key)
                time.sleep(0.1)
        host, port = master.connection_pool.master_address
        written[key] = f"{host}:{port}"
        if acks < min_acks:
            at_risk.append(key)
    return {"written": written, "at_risk": at_risk}
"""

WRITER_ASKING_BEFORE_EVERY_ITEM = """
def write_through_failover(sentinels, service, items, *, min_acks, wait_ms, give_up_after=30.0):
    result = {"written": {}, "at_risk": []}
    clients = {}

    def locate():
        for host, port in sentinels:
            try:
                with redis.Redis(host=host, port=port, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)) as s:
                    reply = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service)
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            if reply:
                return "%s:%s" % tuple(part.decode() if isinstance(part, bytes) else part for part in reply)
        return None

    for key, value in items:
        clock = None
        while True:
            where = locate()
            if where is not None:
                conn = clients.setdefault(where, redis.Redis.from_url(f"redis://{where}", retry=Retry(NoBackoff(), 0)))
                try:
                    conn.set(key, value)
                    break
                except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
                    clients.pop(where).close()
            clock = clock or time.monotonic()
            if time.monotonic() - clock > give_up_after:
                raise TimeoutError(f"{key}: no writable master")
            time.sleep(0.02)
        result["written"][key] = where
        try:
            confirmed = conn.wait(min_acks, wait_ms) >= min_acks
        except redis.RedisError:
            confirmed = False
        if not confirmed:
            result["at_risk"].append(key)
    return result
"""

ALTERNATIVES = [
    Variant("wait_for_catch_up tracking the replicas still behind", *A, source=CATCH_UP_TRACKING_PENDING),
    Variant("wait_for_catch_up on full INFO", *A, source=CATCH_UP_WITH_FULL_INFO),
    Variant(
        "writer on redis-py's Sentinel.master_for with a pipeline", *B, source=WRITER_WITH_REDIS_PY_SENTINEL
    ),
    Variant("writer asking the Sentinels before every item", *B, source=WRITER_ASKING_BEFORE_EVERY_ITEM),
]


class TestReplicationExercises(ExerciseSuite):
    module = "02_cluster"
    notebook = "replication"
    mutants = CATCH_UP_MUTANTS + WRITER_MUTANTS
    alternatives = ALTERNATIVES
