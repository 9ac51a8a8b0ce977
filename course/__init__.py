"""Redis Advanced Concepts: the package the course notebooks import.

The rooms, by audience:

* top level - the small surface notebooks use: :func:`start_server`, :class:`LocalCluster`,
  ``%load_ext course`` (:mod:`course.notebook`), checks for test cells (:mod:`course.checks`),
  measurements (:mod:`course.measure`) and plots (:mod:`course.plotting`);
* :mod:`course.sandbox` - the processes lessons start: Redis servers, clusters, Sentinels,
  Prometheus; how binaries are found and ports claimed;
* :mod:`course.lessons` - one helper module per lesson that needs one;
* :mod:`course.grader` - the instructor's: nbgrader preprocessors, the class grader, reports.

Names are imported on first use, so ``python -m course clean`` does not load redis-py or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from course.notebook import check_sandbox
    from course.sandbox.binaries import RedisNotFoundError, find_redis
    from course.sandbox.cluster import ClusterNotReadyError, LocalCluster, start_lone_node
    from course.sandbox.replication import ReplicatedSet
    from course.sandbox.sentinel_group import SentinelGroup
    from course.sandbox.servers import RedisServer, RedisStartError, start_server

__version__ = "0.2.0"

#: Public name -> module that defines it.
_SURFACE = {
    "RedisServer": "course.sandbox.servers",
    "RedisStartError": "course.sandbox.servers",
    "start_server": "course.sandbox.servers",
    "RedisNotFoundError": "course.sandbox.binaries",
    "find_redis": "course.sandbox.binaries",
    "LocalCluster": "course.sandbox.cluster",
    "ClusterNotReadyError": "course.sandbox.cluster",
    "start_lone_node": "course.sandbox.cluster",
    "ReplicatedSet": "course.sandbox.replication",
    "SentinelGroup": "course.sandbox.sentinel_group",
    "check_sandbox": "course.notebook",
}

__all__ = [
    "ClusterNotReadyError",
    "LocalCluster",
    "RedisNotFoundError",
    "RedisServer",
    "RedisStartError",
    "ReplicatedSet",
    "SentinelGroup",
    "check_sandbox",
    "find_redis",
    "start_lone_node",
    "start_server",
]


def __getattr__(name: str) -> Any:
    if name not in _SURFACE:
        raise AttributeError(f"module 'course' has no attribute {name!r}")
    return getattr(importlib.import_module(_SURFACE[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_SURFACE])


def load_ipython_extension(shell: object) -> None:
    """``%load_ext course``: see :mod:`course.notebook`."""
    from course.notebook import load_ipython_extension as load

    load(shell)
