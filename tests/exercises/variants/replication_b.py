"""02_cluster, replication notebook, Part B: a writer that survives a failover and knows what it risked.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("writer")

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

MUTANTS = [
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

ALTERNATIVES = [
    Variant(
        "writer on redis-py's Sentinel.master_for with a pipeline", *B, source=WRITER_WITH_REDIS_PY_SENTINEL
    ),
    Variant("writer asking the Sentinels before every item", *B, source=WRITER_ASKING_BEFORE_EVERY_ITEM),
]
