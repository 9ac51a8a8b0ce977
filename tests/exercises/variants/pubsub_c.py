"""01_pubsub, Part C: a real-time metrics dashboard.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

C = cells("part-c")

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

MUTANTS = [
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

ALTERNATIVES = [
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
