"""Course-wide figures: sandbox start against a bare redis-server, notebook run times, the check.

    ./scripts/benchmark            # everything, including one full ./scripts/test run
    ./scripts/benchmark --quick    # without the full check

Prints its figures; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.grader.authoring import execute, source_notebooks
from course.measure import timed
from course.sandbox.binaries import find_redis
from course.sandbox.ports import claim_port
from course.sandbox.servers import RedisServer
from course.settings import COURSE_ROOT


def bare_start_seconds() -> float:
    """redis-server on a free port, polled with PING until it answers: the floor for any sandbox."""
    claim = claim_port()
    server = find_redis().server
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(server), "--port", str(claim.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = redis.Redis(port=claim.port, retry=Retry(NoBackoff(), 0))
    try:
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.001)
        return time.perf_counter() - started
    finally:
        probe.close()
        process.kill()
        process.wait()
        claim.release()


def sandbox_start_seconds() -> float:
    server = RedisServer()
    elapsed = timed(server.start)
    server.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="skip the full ./scripts/test run")
    parser.add_argument("--repeat", type=int, default=15, help="server starts per measurement")
    args = parser.parse_args()

    bare_start_seconds(), sandbox_start_seconds()  # warm the page cache and imports
    bare = [bare_start_seconds() for _ in range(args.repeat)]
    sandbox = [sandbox_start_seconds() for _ in range(args.repeat)]
    bare_ms, sandbox_ms = statistics.median(bare) * 1000, statistics.median(sandbox) * 1000
    print(f"server start, median of {args.repeat}:")
    print(f"  bare redis-server + PING      {bare_ms:7.1f} ms")
    print(f"  sandbox RedisServer.start()   {sandbox_ms:7.1f} ms   ({sandbox_ms / bare_ms:.2f}x bare)")

    print("notebooks, top to bottom with solutions (as `python -m course refresh` runs them):")
    for path in source_notebooks():
        seconds = timed(lambda path=path: execute(path))
        print(f"  {path.relative_to(COURSE_ROOT)!s:<48} {seconds:6.1f} s")

    if not args.quick:
        seconds = timed(
            lambda: subprocess.run([str(COURSE_ROOT / "scripts" / "test")], check=True, cwd=COURSE_ROOT)
        )
        print(f"the whole check (./scripts/test): {seconds:.0f} s")


if __name__ == "__main__":
    main()
