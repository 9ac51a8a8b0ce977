"""07_caching, Part B: a tagged cache that works on a cluster.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

B = cells("part-b")

SET_INDEX_WITH_EXISTENCE_CHECKS = """
class TaggedCache:
    def __init__(self, client):
        self.client = client

    def set(self, key, value, tags, ttl):
        if type(ttl) is not int or ttl <= 0:
            raise ValueError("ttl must be an int >= 1")
        self.client.set(key, value, ex=ttl)
        for tag in tags:
            index = "tag:" + tag
            gone = [member for member in self.client.smembers(index) if not self.client.exists(member)]
            if gone:
                self.client.srem(index, *gone)
            self.client.sadd(index, key)
            if self.client.ttl(index) < ttl:
                self.client.expire(index, ttl)

    def get(self, key):
        return self.client.get(key)

    def invalidate_tag(self, tag):
        index = "tag:" + tag
        members = list(self.client.sscan_iter(index))
        deleted = sum(self.client.unlink(member) for member in members)
        if members:
            self.client.srem(index, *members)
        return deleted
"""

SCRIPTED_INDEX_AND_SPLIT_DELETE = '''
INDEX_ONE = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
"""


class TaggedCache:
    def __init__(self, client):
        self.client = client
        self.index_one = client.register_script(INDEX_ONE)

    def set(self, key, value, tags, ttl):
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise ValueError("ttl")
        self.client.set(key, value, ex=ttl)
        now = int(time.time() * 1000)
        for tag in tags:
            self.index_one(keys=[f"tag:{tag}"], args=[key, now + ttl * 1000, now])

    def get(self, key):
        return self.client.get(key)

    def invalidate_tag(self, tag):
        members = self.client.zrange(f"tag:{tag}", 0, -1)
        if not members:
            return 0
        deleted = self.client.delete(*members)  # RedisCluster splits it into one DEL per slot
        self.client.zrem(f"tag:{tag}", *members)
        return deleted
'''

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

# (name, text in our solution, replacement): each one a plausible mistake.
SWAPS = [
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
]

MUTANTS = [variant(name, B, (old, new)) for name, old, new in SWAPS]
MUTANTS += [
    Variant("SmartCache as quoted", *B, source=SMART_CACHE_PORTED),
]

ALTERNATIVES = [
    Variant("a set index cleaned by existence checks", *B, source=SET_INDEX_WITH_EXISTENCE_CHECKS),
    Variant("a scripted index, delete(*keys) split by redis-py", *B, source=SCRIPTED_INDEX_AND_SPLIT_DELETE),
]
