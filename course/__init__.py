"""Redis Advanced Concepts: the package the course notebooks import.

Modules, one job each:

* :mod:`course.settings`  - numbers shared by nbgrader, nbval and the sandbox
* :mod:`course.lifecycle` - the start/close context-manager protocol
* :mod:`course.binaries`  - find redis-server and its tools, check version and TLS
* :mod:`course.ports`     - claim free loopback ports with a lock
* :mod:`course.servers`   - sandboxed redis-server processes
* :mod:`course.measure`   - timing and percentile helpers for the lessons' measurements
* :mod:`course.plotting`  - one plotting style, fixed figure sizes
* :mod:`course.notebook`  - notebook set-up: ``%%demo`` cells, grading mode, sandbox check
* :mod:`course.grading`   - helpers the exercises' tests use (subscribers, waiting, timing)
* :mod:`course.cli`       - ``python -m course doctor|clean|...``
"""

from course.binaries import RedisNotFoundError, find_redis
from course.servers import RedisServer, RedisStartError, start_server

__all__ = ["RedisNotFoundError", "RedisServer", "RedisStartError", "find_redis", "start_server"]
__version__ = "0.1.0"


def load_ipython_extension(shell: object) -> None:
    """``%load_ext course``: see :mod:`course.notebook`."""
    from course.notebook import load_ipython_extension as load

    load(shell)
