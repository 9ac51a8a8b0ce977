"""A kernel killed with SIGKILL takes its servers with it; its directories go at the next start."""

from __future__ import annotations

import os
import signal
import time

import psutil

from course.sandbox.servers import RedisServer
from course.settings import sandbox_root
from tests.kernel import Kernel


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkill_of_a_kernel_kills_its_servers_and_the_next_start_sweeps() -> None:
    kernel = Kernel().start()
    try:
        ok, text = kernel.run(
            "from course import start_server\n"
            "servers = [start_server(), start_server()]\n"
            "print(' '.join(str(s.pid) for s in servers))\n"
        )
        assert ok, text
        server_pids = [int(pid) for pid in text.split()]
        # Servers must survive from one cell to the next (a cell may run on another thread).
        ok, text = kernel.run("print(all(s.running for s in servers))")
        assert (ok, text.strip()) == (True, "True")
        leftovers = [p for p in sandbox_root().iterdir() if p.name.startswith(f"{kernel.pid}-")]
        assert len(leftovers) == 2

        os.kill(kernel.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60  # the kernel delivers the signal at once; this only polls
        while time.monotonic() < deadline and any(alive(pid) for pid in server_pids):
            time.sleep(0.05)
        survivors = [pid for pid in server_pids if alive(pid)]
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
