"""01_pubsub, Part B: user presence with heartbeats.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("part-b")

PRESENCE_WITH_NX = """
class Presence:
    def __init__(self, client, ttl_ms=1000):
        self.client, self.ttl = client, ttl_ms

    def heartbeat(self, user):
        key = "presence:" + user
        while True:
            if self.client.set(key, 1, nx=True, px=self.ttl):
                self.client.publish("presence:events", json.dumps({"user": user, "event": "join"}))
                return True
            if self.client.pexpire(key, self.ttl):  # still there: refreshed
                return False

    def leave(self, user):
        gone = self.client.delete("presence:" + user) == 1
        if gone:
            self.client.publish("presence:events", json.dumps({"user": user, "event": "leave"}))
        return gone

    def online(self):
        names, cursor = [], 0
        while True:
            cursor, keys = self.client.scan(cursor, match="presence:*", count=10)
            names += [k.split(":", 1)[1] for k in keys]
            if cursor == 0:
                return sorted(set(names))
"""

MUTANTS = [
    Variant("no TTL on the presence key", *B, replace=((", px=self.ttl_ms, get=True)", ", get=True)"),)),
    Variant("TTL in seconds instead of milliseconds", *B, replace=(("px=self.ttl_ms", "ex=self.ttl_ms"),)),
    Variant(
        "a join on every heartbeat",
        *B,
        replace=(("        if previous is not None:\n            return False\n", ""),),
    ),
    Variant(
        "events on the wrong channel", *B, replace=(('EVENTS = "presence:events"', 'EVENTS = "presence"'),)
    ),
    Variant(
        "leave() announces even when offline",
        *B,
        replace=(
            (
                '        if not self.client.delete(f"presence:{user}"):\n            return False\n',
                '        existed = self.client.delete(f"presence:{user}")\n',
            ),
            (
                "        return True\n        ### END SOLUTION\n\n    def online",
                "        return bool(existed)\n        ### END SOLUTION\n\n    def online",
            ),
        ),
    ),
    Variant(
        "online() with KEYS",
        *B,
        replace=(('self.client.scan_iter(match="presence:*", count=100)', 'self.client.keys("presence:*")'),),
    ),
    Variant(
        "online() reads only the first SCAN page",
        *B,
        replace=(
            (
                'self.client.scan_iter(match="presence:*", count=100)',
                'self.client.scan(0, match="presence:*")[1]',
            ),
        ),
    ),
    Variant("online() unsorted", *B, replace=(("return sorted(key[prefix:]", "return list(key[prefix:]"),)),
]

ALTERNATIVES = [
    Variant("Presence with SET NX + PEXPIRE and a manual SCAN loop", *B, source=PRESENCE_WITH_NX),
]
