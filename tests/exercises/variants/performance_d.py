"""04_performance, Part D: a latency benchmark that reports percentiles.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

D = cells("part-d")

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
    Variant("benchmark on a ThreadPoolExecutor with numpy inverted_cdf", *D, source=LATENCY_WITH_EXECUTOR),
    Variant(
        "benchmark on a shared work list with course.measure.percentile",
        *D,
        source=LATENCY_WITH_COURSE_PERCENTILE,
    ),
]
