"""How long a local Redis Cluster takes to form, and to heal after a master is killed.

Run from anywhere with the course's Python::

    python benchmarks/bench_cluster.py [--runs 3] [--kills 5]

Figures (medians of ``--runs`` runs, 3 masters + 3 replicas, the default 1000 ms node timeout):

* time from nothing to a ready cluster (every node ``cluster_state:ok``, same slot map everywhere,
  every replica linked) with ``bootstrap="commands"`` and with ``bootstrap="redis-cli"``, and their
  ratio; both end with the same readiness wait;
* time from ``kill -9`` of a master until its replica is master, and until every running node
  reports ``cluster_state:ok`` again (``--kills`` failovers in one cluster, the killed master
  restarted after each one).

The waits poll every 50 ms, so each figure is late by up to that much.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Running the file puts benchmarks/ first on sys.path; the course package sits one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course.sandbox.cluster import Bootstrap, LocalCluster


def seconds_to_ready(bootstrap: Bootstrap) -> float:
    started = time.perf_counter()
    cluster = LocalCluster(masters=3, replicas_per_master=1, bootstrap=bootstrap)
    try:
        cluster.start()  # returns once the cluster is ready
        return time.perf_counter() - started
    finally:
        cluster.close()


def seconds_to_heal(runs: int) -> tuple[list[float], list[float]]:
    """Kill the master of slot 0 ``runs`` times in one cluster; restart it after each failover.

    Returns, per run, the seconds from kill -9 to the replica answering ``ROLE`` as master, and
    to the whole cluster being ready again. The restarted node rejoins as a replica, so the next
    run kills the new master and the roles swap back and forth.
    """
    promoted, healed = [], []
    with LocalCluster(masters=3, replicas_per_master=1) as cluster:
        for _ in range(runs):
            victim = cluster.node_for_slot(0)
            (heir,) = cluster.replicas_of(victim)
            started = time.perf_counter()
            cluster.kill(victim)
            while heir.command("ROLE")[0] != "master":
                time.sleep(0.01)
            promoted.append(time.perf_counter() - started)
            cluster.wait_for_failover(victim)
            healed.append(time.perf_counter() - started)
            cluster.restart(victim)
    return promoted, healed


def summary(label: str, runs: list[float]) -> str:
    listed = ", ".join(f"{run:.2f}" for run in runs)
    return f"  {label:<58} median {statistics.median(runs):5.2f} s   (runs: {listed})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="cluster starts per bootstrap (default 3)")
    parser.add_argument("--kills", type=int, default=5, help="failovers measured (default 5)")
    arguments = parser.parse_args()
    runs = arguments.runs

    print(
        "Local Redis Cluster: 3 masters + 3 replicas, cluster-node-timeout 1000 ms, "
        f"{runs} starts per bootstrap, {arguments.kills} failovers"
    )
    by_commands = [seconds_to_ready("commands") for _ in range(runs)]
    print(summary('start to ready, bootstrap="commands"', by_commands))
    by_redis_cli = [seconds_to_ready("redis-cli") for _ in range(runs)]
    print(summary('start to ready, bootstrap="redis-cli"', by_redis_cli))
    ratio = statistics.median(by_redis_cli) / statistics.median(by_commands)
    print(f"  {'ratio redis-cli / commands (medians)':<58} {ratio:.2f}")
    promoted, healed = seconds_to_heal(arguments.kills)
    print(summary("kill -9 of a master to its replica answering ROLE master", promoted))
    print(summary("kill -9 of a master to promoted replica + all nodes ok", healed))


if __name__ == "__main__":
    main()
