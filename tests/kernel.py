"""A real Jupyter kernel driven from a test, as nbgrader and nbval drive one."""

from __future__ import annotations

import os
import sys
from typing import Any, Self

from jupyter_client.manager import KernelManager

from course.sandbox.lifecycle import Managed


class Kernel(Managed):
    """Start an IPython kernel with the course's environment; ``run`` returns (ok, text)."""

    def __init__(self, env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self._env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
        self._cwd = cwd
        self.client: Any = None

    def start(self) -> Self:
        self.manager.start_kernel(env=self._env, cwd=self._cwd)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        return self

    @property
    def pid(self) -> int:
        return int(self.manager.provisioner.pid)  # type: ignore[union-attr]

    def run(self, code: str, timeout: float = 120) -> tuple[bool, str]:
        chunks: list[str] = []

        def collect(message: dict[str, Any]) -> None:
            content = message.get("content", {})
            if "text" in content:
                chunks.append(content["text"])
            elif "data" in content:  # execute_result and display_data
                chunks.append(str(content["data"].get("text/plain", "")))
            elif "traceback" in content:
                chunks.append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=collect)
        return reply["content"]["status"] == "ok", "".join(chunks)

    def close(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=False)
        self.manager.cleanup_resources()
