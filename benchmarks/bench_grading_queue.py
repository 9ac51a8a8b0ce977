"""RQ throughput on one machine: a class graded through the queue by 1 worker, then by 2.

The class (default 14 submissions spread over every module, two complete for one blank) is
copied for each run; the queue is a sandbox Redis server with AOF on. Workers are started and
registered with RQ before the clock starts (a fleet already running); what the clock includes is
everything a worker does per job, the once-per-module gradebook each worker makes for itself
included. For reference, the same class graded here with ``--jobs`` equal to the workers.

    python benchmarks/bench_grading_queue.py [--size 14] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_grading_classes import spread_class
from rq import Worker

from course.grader.classgrader import ClassGrader
from course.grader.gradebook import register_modules
from course.grader.processes import nbgrader_env
from course.grader.queue import connect
from course.sandbox.servers import RedisServer

QUEUE = "course-grading-bench"


def graded(root: Path, modules: list[str], **options: object) -> float:
    register_modules(root, modules)
    grader = ClassGrader(root=root, modules=tuple(modules), progress=False, **options)  # type: ignore[arg-type]
    started = time.perf_counter()
    outcomes = grader.run()
    seconds = time.perf_counter() - started
    failed = [o for o in outcomes if o.status != "graded"]
    assert not failed, failed
    return seconds


def through_queue(root: Path, modules: list[str], workers: int) -> float:
    with RedisServer({"appendonly": "yes"}, name="bench-queue") as server:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "course", "grade-worker", server.url, "--queue-name", QUEUE],
                env=nbgrader_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            connection = connect(server.url)
            while len(Worker.all(connection=connection)) < workers:  # registered: ready for jobs
                time.sleep(0.2)
            return graded(root, modules, queue=server.url, queue_name=QUEUE)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(120)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=14)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    n = args.size
    print(f"{n} submissions spread over every module, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as scratch:
        for workers in args.workers:
            root = Path(scratch) / f"queue-{workers}"
            modules = list(spread_class(root, n))
            results[f"RQ queue, {workers} grade-worker(s)"] = through_queue(root, modules, workers)
            root = Path(scratch) / f"local-{workers}"
            modules = list(spread_class(root, n))
            results[f"local, --jobs {workers}"] = graded(root, modules, jobs=workers)
    print(f"  {'':<34} {'wall':>7}  {'per minute':>10}")
    for label, seconds in results.items():
        print(f"  {label:<34} {seconds:6.1f}s  {60 * n / seconds:10.1f}")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
