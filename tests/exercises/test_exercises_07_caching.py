"""07_caching: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises import alternatives_07_caching as alt
from tests.exercises.exercise_runner import ExerciseSuite, Variant

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

A_SET = "    client.set(key, json.dumps(reviews), ex=ttl if reviews is not None else negative_ttl)\n"
A_RAISE = '    if ttl < 1 or negative_ttl < 1:\n        raise ValueError("ttl and negative_ttl must be at least 1 second")\n'
B_EXPIRES = (
    "            pipe.expire(index, ttl, nx=True)                # a new index lives as long as its key...\n"
    "            pipe.expire(index, ttl, gt=True)                # ...an old one is only ever extended\n"
)
B_CLEANUP = '            pipe.zremrangebyscore(index, "-inf", now_ms)    # forget keys that have expired\n'
B_DELETES = (
    "        pipe = self.client.pipeline(transaction=False)\n"
    "        for key in members:\n"
    "            pipe.unlink(key)  # key by key: they may live in different slots\n"
    "        deleted = sum(pipe.execute())\n"
)
B_LUA = "\"local n = 0 for _, k in ipairs(KEYS) do n = n + redis.call('UNLINK', k) end return n\""
B_RAISE = '        if not isinstance(ttl, int) or ttl < 1:\n            raise ValueError("ttl must be a whole number of seconds, at least 1")\n'
C_ACK = '            self.client.rpush(note["ack"], "ok")  # only after the copy is gone\n'
C_DROP = '            with self._lock:\n                self._l1.pop(note["key"], None)\n                self._invalidations += 1\n'
C_TIMEOUT = (
    'raise TimeoutError(f"{acknowledged} of {receivers} caches acknowledged within {self.ack_timeout} s")'
)
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
SWAPS = {
    A: [
        (
            "truthiness test on the cached answer",
            "if cached is not None:",
            "if cached and json.loads(cached):",
        ),
        (
            "empty answers not cached",
            A_SET,
            "    if reviews:\n        client.set(key, json.dumps(reviews), ex=ttl)\n",
        ),
        (
            "no negative caching",
            A_SET,
            "    if reviews is not None:\n        client.set(key, json.dumps(reviews), ex=ttl)\n",
        ),
        ("absence cached for the full ttl", A_SET, "    client.set(key, json.dumps(reviews), ex=ttl)\n"),
        ("no TTL", A_SET, "    client.set(key, json.dumps(reviews))\n"),
        ("TTL in milliseconds", "ex=ttl if reviews", "px=ttl if reviews"),
        ("empty list cached as absence", "ex=ttl if reviews is not None else", "ex=ttl if reviews else"),
        (
            "TTLs swapped",
            "ex=ttl if reviews is not None else negative_ttl",
            "ex=negative_ttl if reviews is not None else ttl",
        ),
        ("wrong key", 'key = f"reviews:{product_id}"', 'key = f"review:{product_id}"'),
        ("no validation", A_RAISE, ""),
        ("ttl 0 accepted", "if ttl < 1 or negative_ttl < 1:", "if ttl < 0 or negative_ttl < 0:"),
        (
            "a second query to check existence",
            "reviews = db.reviews(product_id)",
            "reviews = db.reviews(product_id) if db.reviews(product_id) is not None else None",
        ),
    ],
    B: [
        (
            "index TTL replaced on every set (as SmartCache)",
            B_EXPIRES,
            "            pipe.expire(index, ttl)\n",
        ),
        (
            "EXPIRE GT alone: a new index gets no TTL",
            B_EXPIRES,
            "            pipe.expire(index, ttl, gt=True)\n",
        ),
        ("index without TTL", B_EXPIRES, ""),
        ("index TTL padded by an hour", B_EXPIRES, B_EXPIRES.replace("ttl, ", "ttl + 3600, ")),
        ("expired keys stay in the index", B_CLEANUP, ""),
        (
            "one UNLINK naming every key",
            B_DELETES,
            '        deleted = self.client.execute_command("UNLINK", *members)\n',
        ),
        ("MULTI/EXEC across slots", B_DELETES, B_DELETES.replace("transaction=False", "transaction=True")),
        (
            "one Lua script deleting every key",
            B_DELETES,
            f"        deleted = self.client.eval({B_LUA}, len(members), *members)\n",
        ),
        (
            "index left behind",
            "        self.client.zrem(index, *members)  # only what we read: a key tagged meanwhile stays indexed\n",
            "",
        ),
        (
            "counts listed keys, not deleted ones",
            "        deleted = sum(pipe.execute())\n",
            "        pipe.execute()\n        deleted = len(members)\n",
        ),
        ("only the first tag indexed", "for tag in set(tags):", "for tag in list(tags)[:1]:"),
        ("ttl not validated", B_RAISE, ""),
        ("key TTL in milliseconds", "pipe.set(key, value, ex=ttl)", "pipe.set(key, value, px=ttl)"),
        (
            "indexes at tags:<tag>",
            '            index = f"tag:{tag}"\n            pipe.zadd',
            '            index = f"tags:{tag}"\n            pipe.zadd',
        ),
    ],
    C: [
        ("acknowledges before dropping the copy", C_DROP + C_ACK, C_ACK + C_DROP),
        ("does not wait for acknowledgements", "while acknowledged < receivers:", "while acknowledged < 0:"),
        (
            "waits for one acknowledgement",
            "while acknowledged < receivers:",
            "while acknowledged < min(receivers, 1):",
        ),
        (
            "waits forever",
            "if left <= 0 or self.client.blpop([ack], timeout=left) is None:",
            "if self.client.blpop([ack], timeout=0) is None:",
        ),
        ("gives up silently", C_TIMEOUT, "return"),
        (
            "keeps a value read before an invalidation",
            "if value is not None and self._invalidations == seen:",
            "if value is not None:",
        ),
        ("no L1 at all", "                self._l1[key] = value\n", "                pass\n"),
        ("unbounded L1", "TTLCache(maxsize=l1_size, ttl=l1_ttl)", "TTLCache(maxsize=10**9, ttl=l1_ttl)"),
        ("L1 without TTL", "TTLCache(maxsize=l1_size, ttl=l1_ttl)", "TTLCache(maxsize=l1_size, ttl=10**9)"),
        (
            "L2 without TTL",
            "        self.client.set(key, value, ex=ttl)\n",
            "        self.client.set(key, value)\n",
        ),
        (
            "invalidate() leaves L2",
            "        self.client.delete(key)\n        self._invalidate_everywhere(key)",
            "        self._invalidate_everywhere(key)",
        ),
        (
            "acknowledges on another list",
            'self.client.rpush(note["ack"], "ok")',
            'self.client.rpush(f"cache:acks:{note[\'key\']}", "ok")',
        ),
        (
            "close() stays subscribed",
            "        self._thread.join(2)\n        self._pubsub.close()",
            "        self._thread.join(2)",
        ),
    ],
    D: [
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
    ],
}

SMART_CACHE_PORTED = """
class TaggedCache:  # SmartCache as it is often written, on the given client
    def __init__(self, client):
        self.client = client

    def set(self, key, value, tags, ttl):
        if not isinstance(ttl, int) or ttl < 1:
            raise ValueError("ttl")
        self.client.set(key, value, ex=ttl)
        for tag in tags:
            self.client.sadd(f"tag:{tag}", key)
            self.client.expire(f"tag:{tag}", ttl)

    def get(self, key):
        return self.client.get(key)

    def invalidate_tag(self, tag):
        keys = self.client.smembers(f"tag:{tag}")
        deleted = self.client.delete(*keys) if keys else 0
        self.client.delete(f"tag:{tag}")
        return deleted
"""

MUTANTS = [
    Variant(name, *part, replace=((old, new),)) for part, swaps in SWAPS.items() for name, old, new in swaps
]
MUTANTS += [
    Variant(
        "lock without token, released with DEL",
        *D,
        replace=(
            ("token = uuid.uuid4().hex", 'token = "locked"'),
            (D_RELEASE, "            client.delete(lock)\n"),
        ),
    ),
    Variant("SmartCache as quoted", *B, source=SMART_CACHE_PORTED),
    Variant(
        "acknowledgements counted with LLEN, list never deleted",
        *C,
        source=alt.HANDLER_THREAD_AND_POLLED_ACKS.replace(
            "            time.sleep(0.001)\n        self.client.delete(ack)\n",
            "            time.sleep(0.001)\n",
        ),
    ),
]

ALTERNATIVES = [
    Variant("a marker string for absence, PX in milliseconds", *A, source=alt.MARKER_AND_PX),
    Variant("a set index cleaned by existence checks", *B, source=alt.SET_INDEX_WITH_EXISTENCE_CHECKS),
    Variant(
        "a scripted index, delete(*keys) split by redis-py", *B, source=alt.SCRIPTED_INDEX_AND_SPLIT_DELETE
    ),
    Variant(
        "an OrderedDict L1, run_in_thread, acks counted with LLEN",
        *C,
        source=alt.HANDLER_THREAD_AND_POLLED_ACKS,
    ),
    Variant("WATCH/MULTI release, HMGET reads", *D, source=alt.WATCHED_RELEASE),
    Variant("redis-py's Lock", *D, source=alt.REDIS_PY_LOCK),
]


class TestCachingExercises(ExerciseSuite):
    module = "07_caching"
    mutants = MUTANTS
    alternatives = ALTERNATIVES
