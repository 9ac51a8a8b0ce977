"""07_caching, Part D: hard — a stampede-safe get-or-compute with early refresh.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

D = cells("part-d")

WATCHED_RELEASE = """
import secrets


def get_or_compute(client, key, loader, *, ttl, beta=1.0, lock_ttl=5.0, wait_timeout=10.0):
    if not (ttl > 0 and lock_ttl > 0 and beta >= 0):
        raise ValueError("ttl and lock_ttl > 0, beta >= 0")
    lock_key = key + ":lock"
    give_up = time.monotonic() + wait_timeout

    def release(token):
        with client.pipeline() as pipe:
            try:
                pipe.watch(lock_key)
                if pipe.get(lock_key) == token:
                    pipe.multi()
                    pipe.delete(lock_key)
                    pipe.execute()
            except redis.WatchError:
                pass  # the lock changed hands meanwhile: not ours any more

    def load(check_first):
        token = secrets.token_hex(16)
        if not client.set(lock_key, token, px=int(lock_ttl * 1000) or 1, nx=True):
            return None
        try:
            if check_first and client.exists(key):
                return client.hget(key, "value")
            t0 = time.monotonic()
            value = loader()
            took = time.monotonic() - t0
            client.hset(key, mapping={"value": value, "delta": repr(took), "expiry": repr(time.time() + ttl)})
            client.pexpire(key, int(ttl * 1000))
            return value
        finally:
            release(token)

    while True:
        value, delta, expiry = client.hmget(key, ["value", "delta", "expiry"])
        if value is not None:
            u = random.random() or 1.0
            if time.time() - float(delta) * beta * math.log(u) >= float(expiry):
                fresh = load(check_first=False)
                if fresh is not None:
                    return fresh
            return value
        fresh = load(check_first=True)
        if fresh is not None:
            return fresh
        if time.monotonic() > give_up:
            raise TimeoutError(key)
        time.sleep(0.01)
"""

REDIS_PY_LOCK = """
def get_or_compute(client, key, loader, *, ttl, beta=1.0, lock_ttl=5.0, wait_timeout=10.0):
    if ttl <= 0 or lock_ttl <= 0 or beta < 0:
        raise ValueError("invalid ttl, lock_ttl or beta")
    deadline = time.monotonic() + wait_timeout

    def under_lock(missing):
        lock = client.lock(f"{key}:lock", timeout=lock_ttl)  # SET NX PX with a token; Lua release
        if not lock.acquire(blocking=False):
            return None
        try:
            if missing and client.exists(key):
                return client.hget(key, "value")
            started = time.perf_counter()
            value = loader()
            entry = {"value": value, "delta": time.perf_counter() - started, "expiry": time.time() + ttl}
            client.pipeline().hset(key, mapping=entry).pexpire(key, int(ttl * 1000)).execute()
            return value
        finally:
            try:
                lock.release()
            except redis.exceptions.LockNotOwnedError:
                pass  # it expired and someone else holds it now

    while True:
        entry = client.hgetall(key)
        if not entry:
            value = under_lock(missing=True)
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(key)
            time.sleep(0.003)
            continue
        gap = -float(entry["delta"]) * beta * math.log(1 - random.random())
        if time.time() + gap < float(entry["expiry"]):
            return entry["value"]
        return under_lock(missing=False) or entry["value"]
"""

D_ACQUIRE = "client.set(lock, token, nx=True, px=max(1, round(lock_ttl * 1000)))"
D_RELEASE = "            client.eval(RELEASE_IF_MINE, 1, lock, token)\n"
D_STORED = "            pipe.execute()\n            return value\n        finally:\n"

D_REFRESH = (
    "            refreshed = recompute(only_if_missing=False)\n"
    '            return entry["value"] if refreshed is None else refreshed\n'
)

D_REFRESH_WAITS = (
    "            refreshed = recompute(only_if_missing=False)\n            if refreshed is not None:\n"
    "                return refreshed\n            if time.monotonic() >= deadline:\n"
    "                raise TimeoutError(key)\n            time.sleep(0.005)\n            continue\n"
)

D_RAISE = (
    "    if ttl <= 0 or lock_ttl <= 0 or beta < 0:\n"
    '        raise ValueError("ttl and lock_ttl must be positive, beta not negative")\n'
)

D_DELTA = "delta = time.perf_counter() - started"

# (name, text in our solution, replacement): each one a plausible mistake.
SWAPS = [
    ("no lock", f"if not {D_ACQUIRE}:", f"if not ({D_ACQUIRE} or True):"),
    ("lock without TTL", D_ACQUIRE, "client.set(lock, token, nx=True)"),
    (
        "GET then DEL (not atomic)",
        D_RELEASE,
        "            if client.get(lock) == token:\n                client.delete(lock)\n",
    ),
    (
        "lock kept when the loader fails",
        D_STORED + D_RELEASE,
        "            pipe.execute()\n"
        + D_RELEASE
        + "            return value\n        finally:\n            pass\n",
    ),
    ("log10 instead of ln", "math.log(u)", "math.log10(u)"),
    ("beta ignored", 'float(entry["delta"]) * beta * math.log(u)', 'float(entry["delta"]) * math.log(u)'),
    (
        "sign flipped: never early",
        'time.time() - float(entry["delta"])',
        'time.time() + float(entry["delta"])',
    ),
    ("refresh test inverted", '< float(entry["expiry"]):', '>= float(entry["expiry"]):'),
    ("waits forever", "        if time.monotonic() >= deadline:", "        if False:"),
    (
        "never takes over an expired lock",
        "        value = recompute(only_if_missing=True)\n",
        "        value = recompute(only_if_missing=True) if time.monotonic() < deadline - wait_timeout + 0.05 else None\n",
    ),
    ("early refresh waits for the lock", D_REFRESH, D_REFRESH_WAITS),
    (
        "early refresh without the lock",
        f"if not {D_ACQUIRE}:",
        f"if not {D_ACQUIRE} and only_if_missing:",
    ),
    ("delta not measured", D_DELTA, "delta = 0.0"),
    ("delta in milliseconds", D_DELTA, "delta = (time.perf_counter() - started) * 1000"),
    ("expiry in milliseconds", '"expiry": time.time() + ttl', '"expiry": (time.time() + ttl) * 1000'),
    ("entry without TTL", "            pipe.pexpire(key, max(1, round(ttl * 1000)))\n", ""),
    ("lock_ttl taken as milliseconds", "px=max(1, round(lock_ttl * 1000))", "px=max(1, round(lock_ttl))"),
    ("no validation", D_RAISE, ""),
]

MUTANTS = [variant(name, D, (old, new)) for name, old, new in SWAPS]
MUTANTS += [
    Variant(
        "lock without token, released with DEL",
        *D,
        replace=(
            ("token = uuid.uuid4().hex", 'token = "locked"'),
            (D_RELEASE, "            client.delete(lock)\n"),
        ),
    ),
]

ALTERNATIVES = [
    Variant("WATCH/MULTI release, HMGET reads", *D, source=WATCHED_RELEASE),
    Variant("redis-py's Lock", *D, source=REDIS_PY_LOCK),
]
