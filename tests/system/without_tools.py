"""Code that hides the monitoring tools from the course, as on a machine without them."""

from __future__ import annotations

#: Run first (in a kernel, or before ``python -m course``): Prometheus, promtool and redis_exporter
#: cannot be found, and the error says how to install them.
HIDE_MONITORING_TOOLS = """
import course.sandbox.binaries as _binaries
_find = _binaries.find_program
def _without_monitoring_tools(name):
    if name in ("prometheus", "promtool", "redis_exporter"):
        raise _binaries.RedisNotFoundError(_binaries.PROGRAMS[name].hint())
    return _find(name)
_binaries.find_program = _without_monitoring_tools
"""
