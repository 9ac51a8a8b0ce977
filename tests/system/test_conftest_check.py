"""The end-of-run leftover check recognises a sandbox server (redis rewrites its command line)."""

from __future__ import annotations

from course.sandbox.servers import RedisServer
from course.settings import sandbox_root
from tests.conftest import sandbox_dirs, sandbox_processes


def test_leftover_check_sees_a_running_sandbox_server_and_its_directory() -> None:
    with RedisServer() as server:
        assert server.pid in [p.pid for p in sandbox_processes(sandbox_root())]
        assert server.dir in sandbox_dirs(sandbox_root())
    assert server.pid is None
