"""07_caching, Part C: a two-level cache whose invalidations are acknowledged.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

C = cells("part-c")

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

C_ACK = '            self.client.rpush(note["ack"], "ok")  # only after the copy is gone\n'
C_DROP = '            with self._lock:\n                self._l1.pop(note["key"], None)\n                self._invalidations += 1\n'

C_TIMEOUT = (
    'raise TimeoutError(f"{acknowledged} of {receivers} caches acknowledged within {self.ack_timeout} s")'
)

# (name, text in our solution, replacement): each one a plausible mistake.
SWAPS = [
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
]

MUTANTS = [variant(name, C, (old, new)) for name, old, new in SWAPS]
MUTANTS += [
    Variant(
        "acknowledgements counted with LLEN, list never deleted",
        *C,
        source=HANDLER_THREAD_AND_POLLED_ACKS.replace(
            "            time.sleep(0.001)\n        self.client.delete(ack)\n",
            "            time.sleep(0.001)\n",
        ),
    ),
]

ALTERNATIVES = [
    Variant(
        "an OrderedDict L1, run_in_thread, acks counted with LLEN",
        *C,
        source=HANDLER_THREAD_AND_POLLED_ACKS,
    ),
]
