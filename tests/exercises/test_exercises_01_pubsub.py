"""01_pubsub: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import (
    ExerciseSuite,
    Variant,
)

A, B, C = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
)

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
    Variant(
        "SUBSCRIBE to the pattern as a channel",
        *C,
        replace=(
            ("self.pubsub.psubscribe(self.pattern)", "self.pubsub.subscribe(self.pattern)"),
            ('if message["type"] == "psubscribe":', 'if message["type"] == "subscribe":'),
        ),
    ),
    Variant(
        "ignores count: reads until the timeout",
        *C,
        replace=(("        while len(rows) < count:\n", "        while True:\n"),),
    ),
    Variant(
        "keeps one sample too many",
        *C,
        replace=(("        while len(rows) < count:\n", "        while len(rows) <= count:\n"),),
    ),
    Variant(
        "malformed samples not skipped",
        *C,
        replace=(("            if len(parts) != 3:\n                return None\n", ""),),
    ),
    Variant(
        "values kept as text",
        *C,
        replace=(
            ('.astype({"ts": float, "value": float})', ""),
            (
                'ts, value = float(payload["ts"]), float(payload["value"])',
                'ts, value = str(payload["ts"]), str(payload["value"])',
            ),
        ),
    ),
    Variant(
        "stop() unsubscribes but keeps the connection",
        *C,
        replace=(("        self.pubsub.close()", "        self.pubsub.punsubscribe()"),),
    ),
    Variant(
        "one line for all series",
        *C,
        replace=(
            (
                '    for (host, metric), series in df.groupby(["host", "metric"]):\n        ax.plot(series["ts"] - start, series["value"], marker=".", label=f"{host} {metric}")',
                '    ax.plot(df["ts"] - start, df["value"], label="all")',
            ),
        ),
    ),
    Variant("hard-coded pattern", *C, replace=(("self.pattern = pattern", 'self.pattern = "metrics:*"'),)),
    Variant(
        "start() returns without waiting for the confirmation",
        *C,
        replace=(
            (
                "        while True:  # wait for the server's confirmation\n"
                "            message = self.pubsub.get_message(timeout=5)\n"
                "            if message is None:\n"
                '                raise TimeoutError("PSUBSCRIBE was not confirmed")\n'
                '            if message["type"] == "psubscribe":\n'
                "                return\n",
                "",
            ),
        ),
    ),
    Variant(
        "start() gives the confirmation 10 ms, then returns anyway",
        *C,
        replace=(
            (
                "        while True:  # wait for the server's confirmation\n"
                "            message = self.pubsub.get_message(timeout=5)\n"
                "            if message is None:\n"
                '                raise TimeoutError("PSUBSCRIBE was not confirmed")\n'
                '            if message["type"] == "psubscribe":\n'
                "                return\n",
                "        self.pubsub.get_message(timeout=0.01)  # usually the confirmation, not always\n",
            ),
        ),
    ),
]

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

METRICS_WITH_LISTEN_THREAD = """
import queue as _queue

class MetricsCollector:
    def __init__(self, client, pattern="metrics:*"):
        self.client, self.pattern, self.inbox, self.thread = client, pattern, _queue.Queue(), None

    def start(self):
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(**{self.pattern: self.inbox.put})
        while self.client.pubsub_numpat() < 1:
            time.sleep(0.01)
        self.thread = self.pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def collect(self, count, timeout):
        end, rows = time.monotonic() + timeout, []
        while len(rows) < count and (left := end - time.monotonic()) > 0:
            try:
                message = self.inbox.get(timeout=left)
            except _queue.Empty:
                break
            prefix, *rest = message["channel"].split(":")
            try:
                data = json.loads(message["data"])
                row = dict(channel=message["channel"], host=rest[0], metric=rest[1],
                           ts=float(data["ts"]), value=float(data["value"]))
            except Exception:
                continue
            if len(rest) == 2:
                rows.append(row)
        return pd.DataFrame(rows, columns=["channel", "host", "metric", "ts", "value"], dtype=object).astype(
            {"ts": "float64", "value": "float64"})

    def stop(self):
        if self.thread is not None:
            self.thread.stop()
            self.thread.join()
            self.thread = None
"""

METRICS_WITH_A_READER_THREAD = """
import queue as _queue

class MetricsCollector:
    def __init__(self, client, pattern="metrics:*"):
        self.pubsub, self.pattern = client.pubsub(), pattern
        self.inbox, self.confirmed, self.stopping = _queue.Queue(), threading.Event(), threading.Event()
        self.reader = threading.Thread(target=self.read, daemon=True)

    def read(self):  # the only thread that touches the PubSub until stop() has joined it
        while not self.stopping.is_set():
            message = self.pubsub.get_message(timeout=0.05)
            if message is None:
                continue
            if message["type"] == "psubscribe":
                self.confirmed.set()
            elif message["type"] == "pmessage":
                self.inbox.put(message)

    def start(self):
        self.pubsub.psubscribe(self.pattern)
        self.reader.start()
        if not self.confirmed.wait(30):
            raise TimeoutError("PSUBSCRIBE not confirmed")

    def collect(self, count, timeout):
        rows, deadline = [], time.monotonic() + timeout
        while len(rows) < count:
            try:
                message = self.inbox.get(timeout=max(deadline - time.monotonic(), 0))
            except _queue.Empty:
                break
            kind, *names = message["channel"].split(":")
            try:
                body = json.loads(message["data"])
                ts, value = float(body["ts"]), float(body["value"])
            except (ValueError, TypeError, KeyError):
                continue
            if len(names) == 2:
                rows.append({"channel": message["channel"], "host": names[0], "metric": names[1], "ts": ts, "value": value})
        frame = pd.DataFrame(rows, columns=["channel", "host", "metric", "ts", "value"])
        return frame.astype({"ts": float, "value": float})

    def stop(self):
        self.stopping.set()
        if self.reader.is_alive():
            self.reader.join()
        self.pubsub.close()
"""

ALTERNATIVES = [
    Variant("ChatRoom with a Lua script and LPUSH", *A, source=CHAT_ROOM_WITH_LUA),
    Variant("Presence with SET NX + PEXPIRE and a manual SCAN loop", *B, source=PRESENCE_WITH_NX),
    Variant(
        "MetricsCollector on run_in_thread and a queue",
        *C,
        source=METRICS_WITH_LISTEN_THREAD,
    ),
    Variant(
        "MetricsCollector whose reader thread signals the confirmation",
        *C,
        source=METRICS_WITH_A_READER_THREAD,
    ),
]


class TestPubSubExercises(ExerciseSuite):
    module = "01_pubsub"
    mutants = MUTANTS
    alternatives = ALTERNATIVES
