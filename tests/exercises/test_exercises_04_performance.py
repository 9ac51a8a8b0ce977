"""04_performance: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import (
    ExerciseSuite,
    Variant,
)

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

# -- Part A: bulk loader -------------------------------------------------------------------------

LOADER_ONE_AT_A_TIME = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded = 0
    for key, fields in records:
        client.hset(key, mapping=fields)
        if ttl_seconds is not None:
            client.expire(key, ttl_seconds)
        loaded += 1
    return loaded
"""

LOADER_TTL_SEPARATE_ROUND_TRIP = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded, batch = 0, []
    def flush():
        pipe = client.pipeline(transaction=False)
        for key, fields in batch:
            pipe.hset(key, mapping=fields)
        pipe.execute()
        if ttl_seconds is not None:
            pipe = client.pipeline(transaction=False)
            for key, _ in batch:
                pipe.expire(key, ttl_seconds)
            pipe.execute()
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            flush()
            loaded += len(batch)
            batch = []
    if batch:
        flush()
        loaded += len(batch)
    return loaded
"""

LOADER_BATCH_COUNTS_COMMANDS = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    pipe = client.pipeline(transaction=False)
    loaded = 0
    for key, fields in records:
        pipe.hset(key, mapping=fields)
        if ttl_seconds is not None:
            pipe.expire(key, ttl_seconds)
        loaded += 1
        if len(pipe) >= batch_size:
            pipe.execute()
    if len(pipe):
        pipe.execute()
    return loaded
"""

LOADER_ISLICE_CHUNKS = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    iterator, total = iter(records), 0
    while chunk := list(itertools.islice(iterator, batch_size)):
        with client.pipeline(transaction=False) as pipe:
            for key, fields in chunk:
                pipe.hset(key, items=[part for pair in fields.items() for part in pair])
                if ttl_seconds:
                    pipe.expire(key, ttl_seconds)
            pipe.execute()
        total += len(chunk)
    return total
"""

LOADER_LUA = """
import json

LOAD_SCRIPT = '''
local ttl = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  local flat = {}
  for field, value in pairs(cjson.decode(ARGV[i])) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  redis.call('HSET', key, unpack(flat))
  if ttl ~= '' then redis.call('EXPIRE', key, ttl) end
end
return #KEYS
'''

def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded, chunk = 0, []
    def send():
        keys = [key for key, _ in chunk]
        args = [json.dumps(fields, ensure_ascii=False) for _, fields in chunk]
        return client.eval(LOAD_SCRIPT, len(keys), *keys, *args, "" if ttl_seconds is None else ttl_seconds)
    for record in records:
        chunk.append(record)
        if len(chunk) == batch_size:
            loaded += send()
            chunk = []
    if chunk:
        loaded += send()
    return loaded
"""

# -- Part C: simulator -------------------------------------------------------------------------

SIMULATOR_NAIVE = """
def simulate_hit_ratio(trace, capacity, policy):
    if capacity < 1 or policy not in ("allkeys-lru", "allkeys-lfu", "noeviction"):
        raise ValueError((capacity, policy))
    if not trace:
        return 0.0
    cache = {}  # key -> [requests since it entered, time of its last request]
    hits = 0
    for now, key in enumerate(trace):
        if key in cache:
            hits += 1
            cache[key][0] += 1
            cache[key][1] = now
            continue
        if len(cache) == capacity:
            if policy == "noeviction":
                continue
            if policy == "allkeys-lru":
                victim = min(cache, key=lambda k: cache[k][1])
            else:
                victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))
            del cache[victim]
        cache[key] = [1, now]
    return hits / len(trace)
"""


def naive_simulator(old: str, new: str) -> str:
    assert SIMULATOR_NAIVE.count(old) == 1, old
    return SIMULATOR_NAIVE.replace(old, new)


SIMULATOR_LFU_REMEMBERS_EVICTED = (
    naive_simulator(
        "        cache[key] = [1, now]\n",
        "        history[key] = history.get(key, 0) + 1\n        cache[key] = [history[key], now]\n",
    )
    .replace("    hits = 0\n", "    hits = 0\n    history = {}\n")
    .replace(
        "            cache[key][0] += 1\n", "            cache[key][0] += 1\n            history[key] += 1\n"
    )
)

SIMULATOR_WITH_TIMESTAMPS = """
def simulate_hit_ratio(trace: list, capacity: int, policy: str) -> float:
    handlers = {"allkeys-lru", "allkeys-lfu", "noeviction"}
    if policy not in handlers:
        raise ValueError(f"policy {policy}")
    if capacity <= 0:
        raise ValueError("capacity")
    last_seen, frequency, hits = {}, {}, 0
    for tick, key in enumerate(trace, start=1):
        if key in last_seen:
            hits += 1
        elif len(last_seen) >= capacity:
            if policy == "noeviction":
                continue
            rank = (lambda k: last_seen[k]) if policy == "allkeys-lru" else (lambda k: (frequency[k], last_seen[k]))
            victim = sorted(last_seen, key=rank)[0]
            del last_seen[victim], frequency[victim]
        frequency[key] = frequency.get(key, 0) + 1
        last_seen[key] = tick
    return float(hits) / len(trace) if trace else 0.0
"""

# -- Part D: latency benchmark -------------------------------------------------------------------

LATENCY_WITH_EXECUTOR = """
import concurrent.futures
import numpy

def latency_benchmark(client, command, requests=1000, threads=1):
    if requests <= 0 or threads <= 0:
        raise ValueError("requests and threads must be positive")
    def one(_):
        begin = time.perf_counter_ns()
        client.execute_command(*command)
        return (time.perf_counter_ns() - begin) / 1e6
    begin = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as executor:
        samples = list(executor.map(one, range(requests)))
    wall = time.perf_counter() - begin
    p50, p90, p99 = numpy.percentile(samples, [50, 90, 99], method="inverted_cdf")
    return {"samples_ms": samples, "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
            "max_ms": max(samples), "ops_per_s": requests / wall}
"""

LATENCY_WITH_COURSE_PERCENTILE = """
def latency_benchmark(client, command, requests=1000, threads=1):
    if min(requests, threads) < 1:
        raise ValueError("at least one request and one thread")
    todo = list(range(requests))
    samples = []
    guard = threading.Lock()
    def run():
        while True:
            with guard:
                if not todo:
                    return
                todo.pop()
            t0 = time.perf_counter()
            client.execute_command(*command)
            elapsed = (time.perf_counter() - t0) * 1e3
            with guard:
                samples.append(elapsed)
    pool = [threading.Thread(target=run) for _ in range(threads)]
    t0 = time.perf_counter()
    [t.start() for t in pool]
    [t.join() for t in pool]
    seconds = time.perf_counter() - t0
    return {"samples_ms": samples, "max_ms": max(samples), "ops_per_s": requests / seconds,
            **{f"p{p}_ms": percentile(samples, p) for p in (50, 90, 99)}}
"""

MUTANTS = [
    # Part A
    Variant("one HSET per round trip", *A, source=LOADER_ONE_AT_A_TIME),
    Variant(
        "unbounded batch: everything in one pipeline",
        *A,
        replace=(
            (
                "        if pending == batch_size:  # one round trip per full batch\n            pipe.execute()\n            loaded, pending = loaded + pending, 0\n",
                "",
            ),
        ),
    ),
    Variant(
        "batches one record too big",
        *A,
        replace=(("if pending == batch_size:", "if pending == batch_size + 1:"),),
    ),
    Variant("MULTI/EXEC pipeline", *A, replace=(("transaction=False", "transaction=True"),)),
    Variant(
        "last partial batch dropped",
        *A,
        replace=(
            (
                "    if pending:  # the last, partial batch\n        pipe.execute()\n        loaded += pending\n",
                "",
            ),
        ),
    ),
    Variant(
        "reads every record before sending",
        *A,
        replace=(("for key, fields in records:", "for key, fields in list(records):"),),
    ),
    Variant("expiry in a round trip of its own", *A, source=LOADER_TTL_SEPARATE_ROUND_TRIP),
    Variant(
        "ttl_seconds taken as milliseconds",
        *A,
        replace=(("pipe.expire(key, ttl_seconds)", "pipe.pexpire(key, ttl_seconds)"),),
    ),
    Variant("batch_size counts commands, not records", *A, source=LOADER_BATCH_COUNTS_COMMANDS),
    Variant(
        "a new client per call",
        *A,
        replace=(
            (
                "pipe = client.pipeline(transaction=False)",
                'pipe = redis.Redis(host=client.connection_pool.connection_kwargs["host"], port=client.connection_pool.connection_kwargs["port"]).pipeline(transaction=False)',
            ),
        ),
    ),
    Variant(
        "returns the number of batches",
        *A,
        replace=(("    return loaded\n", "    return -(-loaded // batch_size)\n"),),
    ),
    Variant(
        "no ValueError for batch_size < 1",
        *A,
        replace=(
            ('    if batch_size < 1:\n        raise ValueError("batch_size must be at least 1")\n', ""),
        ),
    ),
    # Part B
    Variant(
        "KEYS instead of SCAN",
        *B,
        replace=(
            (
                "cursor, keys = client.scan(cursor, match=match, count=500)",
                "cursor, keys = 0, client.keys(match)",
            ),
        ),
    ),
    Variant(
        "only the first SCAN page",
        *B,
        replace=(("        if cursor == 0:\n            break\n", "        break\n"),),
    ),
    Variant(
        "smallest first",
        *B,
        replace=(('(-row["bytes"], row["key"])', '(row["bytes"], row["key"])'),),
    ),
    Variant("one row too many", *B, replace=(("rows[:n]", "rows[:n + 1]"),)),
    Variant(
        "MEMORY USAGE with the default 5 samples",
        *B,
        replace=(("pipe.memory_usage(key, samples=0)", "pipe.memory_usage(key)"),),
    ),
    Variant("match ignored", *B, replace=(("match=match, count=500", "count=500"),)),
    Variant(
        "ties left in SCAN order",
        *B,
        replace=(
            (
                'rows.sort(key=lambda row: (-row["bytes"], row["key"]))',
                'rows.sort(key=lambda row: -row["bytes"])',
            ),
        ),
    ),
    Variant(
        "ties in reverse key order",
        *B,
        replace=(
            (
                'rows.sort(key=lambda row: (-row["bytes"], row["key"]))',
                'rows.sort(key=lambda row: (row["bytes"], row["key"]), reverse=True)',
            ),
        ),
    ),
    Variant(
        "encoding reported as the type",
        *B,
        replace=(("pipe.type(key)", 'pipe.object("encoding", key)'),),
    ),
    Variant(
        "no ValueError for n < 1",
        *B,
        replace=(('    if n < 1:\n        raise ValueError("n must be at least 1")\n', ""),),
    ),
    Variant(
        "a key deleted during the report keeps a row (0 bytes)",
        *B,
        replace=(
            (
                "            if size is not None:  # None: the key was deleted since SCAN returned it\n"
                '                rows.append({"key": key, "type": kind, "bytes": int(size)})',
                '            rows.append({"key": key, "type": kind, "bytes": int(size or 0)})',
            ),
        ),
    ),
    Variant(
        "empty report without columns",
        *B,
        replace=(("pd.DataFrame(rows[:n], columns=REPORT_COLUMNS)", "pd.DataFrame(rows[:n])"),),
    ),
    # Part C
    Variant(
        "LRU without refreshing on a hit (FIFO)",
        *C,
        replace=(("                recency.move_to_end(key)\n", ""),),
    ),
    Variant(
        "LRU holds one key too many",
        *C,
        replace=(("if len(recency) >= capacity:", "if len(recency) > capacity:"),),
    ),
    Variant(
        "LFU ties by insertion order",
        *C,
        source=naive_simulator(
            "victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))",
            "victim = min(cache, key=lambda k: cache[k][0])",
        ),
    ),
    Variant("LFU remembers counts of evicted keys", *C, source=SIMULATOR_LFU_REMEMBERS_EVICTED),
    Variant(
        "LFU is LRU",
        *C,
        source=naive_simulator(
            "victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))",
            "victim = min(cache, key=lambda k: cache[k][1])",
        ),
    ),
    Variant(
        "noeviction evicts",
        *C,
        source=naive_simulator('            if policy == "noeviction":\n                continue\n', ""),
    ),
    Variant(
        "noeviction caches the refused key anyway",
        *C,
        replace=(
            (
                "            elif len(cached) < capacity:\n                cached.add(key)",
                "            else:\n                cached.add(key)",
            ),
        ),
    ),
    Variant(
        "percent instead of a ratio",
        *C,
        replace=(
            (
                "return hits / len(trace) if trace else 0.0",
                "return 100 * hits / len(trace) if trace else 0.0",
            ),
        ),
    ),
    Variant(
        "hits per miss",
        *C,
        replace=(
            (
                "return hits / len(trace) if trace else 0.0",
                "return hits / max(1, len(trace) - hits) if trace else 0.0",
            ),
        ),
    ),
    Variant(
        "empty trace divides by zero",
        *C,
        replace=(("return hits / len(trace) if trace else 0.0", "return hits / len(trace)"),),
    ),
    Variant(
        "unknown policies accepted",
        *C,
        replace=(
            (
                '    if policy not in POLICIES_SIMULATED:\n        raise ValueError(f"unknown policy {policy!r}; expected one of {POLICIES_SIMULATED}")\n',
                "",
            ),
        ),
    ),
    # Part D
    Variant(
        "a new client and pool per request",
        *D,
        replace=(
            (
                "client.execute_command(*command)",
                "redis.Redis(connection_pool=redis.ConnectionPool(**client.connection_pool.connection_kwargs)).execute_command(*command)",
            ),
        ),
    ),
    Variant(
        "percentile index one too high (floor of p * n)",
        *D,
        replace=(
            (
                "return ordered[math.ceil(p * len(ordered) / 100) - 1]",
                "return ordered[min(int(p * len(ordered) / 100), len(ordered) - 1)]",
            ),
        ),
    ),
    Variant(
        "percentile rank used as an index",
        *D,
        replace=(
            (
                "return ordered[math.ceil(p * len(ordered) / 100) - 1]",
                "return ordered[min(math.ceil(p * len(ordered) / 100), len(ordered) - 1)]",
            ),
        ),
    ),
    Variant(
        "percentile index one too low",
        *D,
        replace=(
            (
                "return ordered[math.ceil(p * len(ordered) / 100) - 1]",
                "return ordered[max(math.ceil(p * len(ordered) / 100) - 2, 0)]",
            ),
        ),
    ),
    Variant(
        "interpolated percentiles",
        *D,
        replace=(
            (
                "return ordered[math.ceil(p * len(ordered) / 100) - 1]",
                'return float(__import__("numpy").percentile(ordered, p))',
            ),
        ),
    ),
    Variant(
        "samples in seconds",
        *D,
        replace=(
            (
                "mine.append((time.perf_counter() - started) * 1000)",
                "mine.append(time.perf_counter() - started)",
            ),
        ),
    ),
    Variant(
        "throughput from the sum of latencies",
        *D,
        replace=(('"ops_per_s": requests / elapsed', '"ops_per_s": requests / (sum(samples) / 1000)'),),
    ),
    Variant(
        "threads ignored: one thread does everything",
        *D,
        replace=(
            (
                "shares = [requests // threads + (1 if i < requests % threads else 0) for i in range(threads)]",
                "shares = [requests]",
            ),
        ),
    ),
    Variant(
        "remainder of requests / threads dropped",
        *D,
        replace=((" + (1 if i < requests % threads else 0)", ""),),
    ),
    Variant(
        "no ValueError for requests or threads < 1",
        *D,
        replace=(
            (
                '    if requests < 1 or threads < 1:\n        raise ValueError("requests and threads must be at least 1")\n',
                "",
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant("loader with islice chunks and a pipeline per chunk", *A, source=LOADER_ISLICE_CHUNKS),
    Variant("loader as one Lua script per batch", *A, source=LOADER_LUA),
    Variant(
        "report with scan_iter, one MEMORY USAGE per key and sort_values",
        *B,
        source="""
def memory_report(client, n=10, match="*"):
    if n <= 0:
        raise ValueError(n)
    sizes = {}
    for key in client.scan_iter(match=match):
        size = client.memory_usage(key, samples=0)
        if size is not None:
            sizes[key] = size
    frame = pd.DataFrame({"key": list(sizes), "type": [client.type(k) for k in sizes], "bytes": list(sizes.values())},
                         columns=["key", "type", "bytes"])
    frame = frame.sort_values(["bytes", "key"], ascending=[False, True]).head(n)
    return frame.reset_index(drop=True)
""",
    ),
    Variant(
        "report with heapq.nsmallest",
        *B,
        source="""
def memory_report(client, n=10, match="*"):
    if n < 1:
        raise ValueError("n")
    entries = []
    cursor = None
    while cursor != 0:
        cursor, keys = client.scan(cursor or 0, match=match, count=50)
        for key in keys:
            size = client.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
            if size is not None:
                entries.append((-int(size), key))
    top = heapq.nsmallest(n, entries)
    return pd.DataFrame([(key, client.type(key), -size) for size, key in top], columns=["key", "type", "bytes"])
""",
    ),
    Variant("simulator with one dict and linear scans", *C, source=SIMULATOR_NAIVE),
    Variant("simulator with timestamps and sorted()", *C, source=SIMULATOR_WITH_TIMESTAMPS),
    Variant("benchmark on a ThreadPoolExecutor with numpy inverted_cdf", *D, source=LATENCY_WITH_EXECUTOR),
    Variant(
        "benchmark on a shared work list with course.measure.percentile",
        *D,
        source=LATENCY_WITH_COURSE_PERCENTILE,
    ),
]


class TestPerformanceExercises(ExerciseSuite):
    module = "04_performance"
    mutants = MUTANTS
    alternatives = ALTERNATIVES
