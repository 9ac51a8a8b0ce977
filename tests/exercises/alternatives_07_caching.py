"""07_caching: correct solutions written differently from the notebook's (full marks expected).

Each constant is the whole source of a solution cell; ``test_exercises_07_caching`` runs them.
"""

MARKER_AND_PX = """
NOTHING = "\\x00no-such-product"


def cached_reviews(client, db, product_id, *, ttl=300, negative_ttl=30):
    if min(ttl, negative_ttl) < 1:
        raise ValueError(f"TTLs must be >= 1 s, got {ttl} and {negative_ttl}")
    key = "reviews:" + str(product_id)
    raw = client.get(key)
    if raw == NOTHING:
        return None
    if raw is not None:
        return json.loads(raw)
    found = db.reviews(product_id)
    if found is None:
        client.set(key, NOTHING, px=negative_ttl * 1000)
    else:
        client.set(key, json.dumps(found), px=ttl * 1000)
    return found
"""

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

HANDLER_THREAD_AND_POLLED_ACKS = """
import collections


class TwoLevelCache:
    CHANNEL = "cache:invalidations"

    def __init__(self, client, *, l1_size=1000, l1_ttl=30.0, ack_timeout=2.0):
        self.client, self.size, self.l1_ttl, self.ack_timeout = client, l1_size, l1_ttl, ack_timeout
        self.entries = collections.OrderedDict()  # key -> (value, expires at), oldest use first
        self.version = collections.Counter()
        self.guard = threading.RLock()
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(**{self.CHANNEL: self.on_message})
        while (self.pubsub.get_message(timeout=1) or {}).get("type") != "subscribe":
            pass
        self.worker = self.pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def on_message(self, message):
        note = json.loads(message["data"])
        with self.guard:
            self.entries.pop(note["key"], None)
            self.version[note["key"]] += 1
        self.client.rpush(note["ack"], "1")

    def get(self, key):
        with self.guard:
            hit = self.entries.get(key)
            if hit and hit[1] > time.monotonic():
                self.entries.move_to_end(key)
                return hit[0]
            seen = self.version[key]
        value = self.client.get(key)
        with self.guard:
            if value is not None and self.version[key] == seen:
                self.entries[key] = (value, time.monotonic() + self.l1_ttl)
                self.entries.move_to_end(key)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return value

    def set(self, key, value, ttl):
        self.client.set(key, value, ex=ttl)
        self.broadcast(key)

    def invalidate(self, key):
        self.client.delete(key)
        self.broadcast(key)

    def broadcast(self, key):
        ack = "acks:" + uuid.uuid4().hex
        expected = self.client.publish(self.CHANNEL, json.dumps({"ack": ack, "key": key}))
        give_up = time.monotonic() + self.ack_timeout
        while self.client.llen(ack) < expected:
            if time.monotonic() > give_up:
                self.client.delete(ack)
                raise TimeoutError(key)
            time.sleep(0.001)
        self.client.delete(ack)

    def close(self):
        self.worker.stop()
        self.worker.join(2)
        self.pubsub.close()
"""

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
