"""How close redis-py pipelining gets to the server's ceiling, on one server in one run.

Run from anywhere with the course's Python::

    python benchmarks/bench_performance.py [--runs 3]

On one sandbox server, each run measures ``SET`` of a 3-byte value to distinct keys:

* redis-py one command at a time (``client.set`` in a loop);
* redis-py pipelines without a transaction, at several batch sizes, and ``MSET`` of 1,000 keys;
* ``redis-benchmark -t set -c 1 -P <depth> -r 100000``: one connection, the C client that ships
  with Redis, at several pipeline depths: the ceiling for one connection.

It prints the medians over ``--runs`` runs (every figure of a run is taken back to back, so they
share the machine's conditions), then redis-py's best pipelined rate as a fraction of
redis-benchmark's best, and the speedup of pipelining over one command at a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

# Running the file puts benchmarks/ first on sys.path; the course package sits one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course.lessons.performance import run_redis_benchmark, set_throughput
from course.sandbox.servers import RedisServer

BATCHES = (10, 100, 1000, 10_000)
DEPTHS = (1, 16, 64, 256, 1000)
SINGLE_COMMANDS = 5_000
PIPELINED_COMMANDS = 50_000
MSET_KEYS = 100_000


def one_run(server: RedisServer) -> dict[str, float]:
    client = server.client()
    figures: dict[str, float] = {}
    client.flushall()
    figures["redis-py, one SET at a time"] = set_throughput(client, SINGLE_COMMANDS, mode="single")
    for batch in BATCHES:
        client.flushall()
        count = max(PIPELINED_COMMANDS, 2 * batch)
        figures[f"redis-py pipeline, batch {batch}"] = set_throughput(client, count, batch=batch)
    client.flushall()
    figures["redis-py MSET of 1000 keys (keys/s)"] = set_throughput(
        client, MSET_KEYS, batch=1000, mode="mset"
    )
    for depth in DEPTHS:
        requests = 20_000 if depth == 1 else 300_000
        rows = run_redis_benchmark(server, tests="set", requests=requests, pipeline=depth, clients=1)
        figures[f"redis-benchmark -P {depth} -c 1"] = rows[0].rps
    client.flushall()
    client.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3); medians are printed")
    runs = parser.parse_args().runs

    with RedisServer(name="bench-performance") as server:
        version = server.binaries.version_text
        results = [one_run(server) for _ in range(runs)]
    medians = {name: statistics.median(run[name] for run in results) for name in results[0]}

    print(f"SET throughput on one server ({version}), median of {runs} runs, operations per second")
    for name, value in medians.items():
        print(f"  {name:<42} {value:>12,.0f}")
    pipelined = {batch: medians[f"redis-py pipeline, batch {batch}"] for batch in BATCHES}
    best_batch = max(pipelined, key=lambda batch: pipelined[batch])
    ceilings = {depth: medians[f"redis-benchmark -P {depth} -c 1"] for depth in DEPTHS}
    best_depth = max(ceilings, key=lambda depth: ceilings[depth])
    single = medians["redis-py, one SET at a time"]
    mset = medians["redis-py MSET of 1000 keys (keys/s)"]
    best = pipelined[best_batch]
    ceiling = ceilings[best_depth]
    summary = {
        "redis-py best pipeline batch": f"{best_batch} ({best:,.0f}/s)",
        f"as a fraction of redis-benchmark -P {best_depth} -c 1 (its best)": f"{best / ceiling:.2f}",
        "as a fraction of redis-benchmark -P 64 -c 1": f"{best / ceilings[64]:.2f}",
        "speedup of pipelining over one SET at a time": f"{best / single:.1f}x",
        "speedup of MSET of 1000 keys over one SET at a time": f"{mset / single:.1f}x",
    }
    for label, text in summary.items():
        print(f"  {label:<60} {text}")


if __name__ == "__main__":
    main()
