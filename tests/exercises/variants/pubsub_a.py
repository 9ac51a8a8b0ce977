"""01_pubsub, Part A: a chat room with recent history.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("part-a")

CHAT_ROOM_WITH_LUA = '''
class ChatRoom:
    SCRIPT = """
    redis.call('LPUSH', KEYS[1], ARGV[1])
    redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
    return redis.call('PUBLISH', KEYS[2], ARGV[1])
    """

    def __init__(self, client, room, history=50):
        self.r, self.key, self.channel, self.size = client, f"chat:{room}:history", f"chat:{room}", history

    def send(self, user, text):
        return self.r.eval(self.SCRIPT, 2, self.key, self.channel, json.dumps({"text": text, "user": user}), self.size)

    def recent(self, n=10):
        if n < 0:
            raise ValueError(n)
        newest_first = self.r.lrange(self.key, 0, n - 1) if n else []
        return [json.loads(m) for m in reversed(newest_first)]
'''

MUTANTS = [
    Variant("publishes on room:<room>", *A, replace=(('f"chat:{room}"\n', 'f"room:{room}"\n'),)),
    Variant(
        "history under another key",
        *A,
        replace=(('self.history_key = f"chat:{room}:history"', 'self.history_key = f"history:{room}"'),),
    ),
    Variant(
        "history never trimmed",
        *A,
        replace=(("        pipe.ltrim(self.history_key, -self.history, -1)\n", ""),),
    ),
    Variant("history trimmed one short", *A, replace=(("-self.history, -1)", "-self.history + 1, -1)"),)),
    Variant(
        "publishes before writing the history",
        *A,
        replace=(
            ("        pipe.publish(self.channel, payload)\n", ""),
            ("        pipe.rpush(", "        pipe.publish(self.channel, payload)\n        pipe.rpush("),
            ("*_, receivers = pipe.execute()", "receivers, *_ = pipe.execute()"),
        ),
    ),
    Variant("recent(0) returns everything", *A, replace=(("        if n == 0:\n            return []", ""),)),
    Variant(
        "recent() newest first",
        *A,
        replace=(
            (
                "self.client.lrange(self.history_key, -n, -1)]",
                "self.client.lrange(self.history_key, -n, -1)][::-1]",
            ),
        ),
    ),
    Variant(
        "negative n accepted",
        *A,
        replace=(('            raise ValueError("n must not be negative")', "            return []"),),
    ),
    Variant("send() returns nothing", *A, replace=(("        return receivers\n", "        return None\n"),)),
]

ALTERNATIVES = [
    Variant("ChatRoom with a Lua script and LPUSH", *A, source=CHAT_ROOM_WITH_LUA),
]
