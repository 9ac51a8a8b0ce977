"""A kernel killed with SIGKILL takes its servers with it; its directories go at the next start."""

from __future__ import annotations

import os

from course.sandbox.servers import RedisServer
from tests.kernel import Kernel
from tests.owner_death import alive, owned_directories, printed_pids, sigkill_and_wait


def test_sigkill_of_a_kernel_kills_its_servers_and_the_next_start_sweeps() -> None:
    kernel = Kernel().start()
    try:
        server_pids = printed_pids(
            kernel,
            "from course import start_server\n"
            "servers = [start_server(), start_server()]\n"
            "print(' '.join(str(s.pid) for s in servers))\n",
        )
        # Servers must survive from one cell to the next (a cell may run on another thread).
        ok, text = kernel.run("print(all(s.running for s in servers))")
        assert (ok, text.strip()) == (True, "True")
        leftovers = owned_directories(kernel.pid)
        assert len(leftovers) == 2

        survivors = sigkill_and_wait(kernel.pid, server_pids, timeout=60)
        assert survivors == [], f"redis-server {survivors} outlived its SIGKILLed kernel"
        assert all(path.exists() for path in leftovers), "nothing has swept yet"
    finally:
        kernel.close()

    with RedisServer():  # any next start sweeps what the dead kernel left
        assert not any(path.exists() for path in leftovers)


def test_a_kernel_shut_down_normally_leaves_nothing() -> None:
    with Kernel() as kernel:
        ok, text = kernel.run("from course import start_server\ns = start_server()\nprint(s.pid, s.dir)")
        assert ok, text
        pid_text, directory = text.split()
    assert not alive(int(pid_text))
    assert not os.path.exists(directory)
