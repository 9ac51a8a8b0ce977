"""A kernel killed with SIGKILL takes its servers with it; its directories go at the next start."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
from jupyter_client.manager import KernelManager

from course.servers import RedisServer
from course.settings import sandbox_root


@pytest.fixture
def kernel() -> Iterator[KernelManager]:
    manager = KernelManager(kernel_name="python3")
    manager.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    manager.start_kernel(env=dict(os.environ))
    try:
        yield manager
    finally:
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
        manager.cleanup_resources()


def run(manager: KernelManager, code: str) -> str:
    client = manager.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        collector = _Collector()
        reply = client.execute_interactive(code, timeout=30, output_hook=collector)
        assert reply["content"]["status"] == "ok", collector.text
        return collector.text
    finally:
        client.stop_channels()


class _Collector:
    def __init__(self) -> None:
        self.text = ""

    def __call__(self, message: dict[str, object]) -> None:
        content = message.get("content")
        if isinstance(content, dict) and "text" in content:
            self.text += str(content["text"])
        elif isinstance(content, dict) and "traceback" in content:
            self.text += "\n".join(map(str, content["traceback"]))


def test_sigkill_of_a_kernel_kills_its_servers_and_the_next_start_sweeps(kernel: KernelManager) -> None:
    pids = run(
        kernel,
        "from course import start_server\n"
        "servers = [start_server(), start_server()]\n"
        "print(' '.join(str(s.pid) for s in servers))\n",
    ).split()
    server_pids = [int(pid) for pid in pids]
    # Servers must survive from one cell to the next (cells may run on another thread).
    still_running = run(kernel, "print(all(s.running for s in servers))")
    assert still_running.strip() == "True"
    leftovers = [p for p in sandbox_root().iterdir() if p.name.startswith(f"{kernel.provisioner.pid}-")]  # type: ignore[union-attr]
    assert len(leftovers) == 2

    os.kill(kernel.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(psutil.pid_exists(pid) for pid in server_pids):
        time.sleep(0.05)
    alive = [
        pid for pid in server_pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]
    assert alive == [], f"redis-server {alive} outlived its SIGKILLed kernel by 5 s"

    with RedisServer():  # any next start sweeps what the dead kernel left
        assert not any(path.exists() for path in leftovers)
