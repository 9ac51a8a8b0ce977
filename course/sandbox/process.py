"""One executor base for every program the sandbox runs: Redis, Sentinel, Prometheus, exporters.

A :class:`SandboxProcess` owns a private absolute directory under the sandbox root and one or
more claimed loopback ports. Its guarantees, each covered by a test:

* the port is claimed with a lock (:mod:`course.sandbox.ports`), so parallel kernels never collide;
* starting has **one deadline** for spawning, retrying a port someone grabbed and becoming ready;
  a failed start raises the subclass's error quoting the tail of the program's own log;
* the program runs in its own session (kernel shutdown signals do not reach it) and, on Linux,
  gets SIGKILL when the thread that started it dies (``PR_SET_PDEATHSIG``), even a SIGKILLed kernel;
* ``atexit`` closes every process still open; any start first sweeps directories (and programs)
  left by owners that died without cleaning up (:mod:`course.sandbox.leftovers`);
* ``stop``, ``kill`` and ``close`` are idempotent.

Subclasses say what to run (:meth:`argv`), what to write first (:meth:`prepare`) and when it is
ready (:meth:`is_ready`). Start them from the thread that will outlive them (the notebook's main
thread): Linux delivers the parent-death signal when the *thread* that forked the program exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, Self

import psutil

from course.sandbox.leftovers import sweep_leftovers, write_owner
from course.sandbox.lifecycle import Managed, close_at_exit, forget_at_exit
from course.sandbox.ports import LOOPBACK, PortClaim, claim_port
from course.settings import sandbox_root

PORT_RETRIES = 5
POLL_SECONDS = 0.002  # programs are usually up within a few ms


class SandboxStartError(RuntimeError):
    """A sandbox program did not come up; the message ends with the tail of its log."""


def die_with_parent() -> None:  # pragma: no cover - runs in a child between fork and exec
    """Linux: SIGKILL this process when the thread that started it ends (elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class SandboxProcess(Managed):
    """A program in its own directory on a claimed loopback port (plus ports at fixed offsets)."""

    #: Raised when a start fails; subclasses name their own (``RedisStartError``).
    start_error: ClassVar[type[SandboxStartError]] = SandboxStartError
    #: Log lines that mean "the port was taken after we probed it": the start retries elsewhere.
    port_in_use_markers: ClassVar[tuple[str, ...]] = ("Address already in use", "address already in use")
    log_name: ClassVar[str] = "process.log"
    program: ClassVar[str] = "process"

    def __init__(self, *, name: str, port_offsets: Iterable[int] = (), start_timeout: float = 10.0) -> None:
        self.name = name
        self.start_timeout = start_timeout
        self._port_offsets = tuple(port_offsets)
        self._claim: PortClaim | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._closed = False

    # -- what subclasses provide ------------------------------------------------------------------

    def argv(self) -> list[str]:
        """The command line; :attr:`port` and :attr:`dir` are known when it is called."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration files before each start (nothing by default)."""

    def is_ready(self) -> bool:
        """Does the program answer yet? Called until it does or the deadline passes."""
        raise NotImplementedError

    def on_closing(self) -> None:
        """Release what the subclass holds (clients) before the program is killed."""

    # -- paths and addresses ----------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The program's private working directory (absolute)."""
        if self._dir is None:
            root = sandbox_root()
            root.mkdir(parents=True, exist_ok=True)
            sweep_leftovers(root)
            self._dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{self.name}-", dir=root))
            write_owner(self._dir, None)
        return self._dir

    @property
    def port(self) -> int:
        if self._claim is None:
            raise RuntimeError(f"{self.name} has no port yet: call start() first.")
        return self._claim.port

    def extra_port(self, offset: int) -> int:
        """A port claimed at ``port + offset`` (cluster bus, TLS)."""
        if self._claim is None:
            raise RuntimeError(f"{self.name} has no port yet: call start() first.")
        return self._claim.extra[offset]

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / self.log_name

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def closed(self) -> bool:
        return self._closed

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the program's log (stdout and stderr together)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start (or start again on the same directory and port) and wait until ready.

        Configuration is written by :meth:`prepare` at every start, so a changed setting applies
        at the next start; a program whose start failed can be started again the same way.
        """
        if self._closed:
            raise RuntimeError(f"{self.name} was closed; create a new one.")
        if self.running:
            return self
        close_at_exit(self)
        deadline = time.monotonic() + self.start_timeout
        for attempt in range(PORT_RETRIES):
            if self._claim is None:
                self._claim = claim_port(self._port_offsets)
            try:
                self._spawn()
                self._wait_ready(deadline)
                return self
            except SandboxStartError as error:
                taken = any(marker in str(error) for marker in self.port_in_use_markers)
                if taken and attempt + 1 < PORT_RETRIES and time.monotonic() < deadline:
                    self._claim.release()
                    self._claim = None
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> None:
        directory = self.dir
        self.prepare()
        with self.log_path.open("ab") as log:
            log.write(f"--- sandbox: starting {self.program} on port {self.port} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.argv(),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only calls prctl, safe after fork
            )
        write_owner(directory, self._process.pid)

    def _wait_ready(self, deadline: float) -> None:
        while True:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise self.start_error(
                    f"{self.program} exited with code {code} while starting.\n"
                    f"Its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        tail = self.log_tail()
        self.kill()
        raise self.start_error(
            f"{self.program} did not become ready within {self.start_timeout:g} s.\n"
            f"Its log ({self.log_path}) ends with:\n{tail}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully with SIGTERM (SIGKILL after ``timeout``); idempotent."""
        if not self.running:
            self._process = None
            return
        assert self._process is not None
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the program and its children, as a crash would: nothing is saved; idempotent.

        The whole process group goes: a save child (``redis-rdb-bgsave``) would otherwise outlive
        its server and write into a directory that is about to be deleted.
        """
        if self._process is not None:
            try:
                family = psutil.Process(self._process.pid).children(recursive=True)
            except psutil.Error:
                family = []
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)  # its own session: group id == pid
            self._process.wait()
            psutil.wait_procs(family, timeout=10)  # gone before anyone deletes the directory
        self._process = None

    def restart(self, *, hard: bool = False) -> Self:
        """Stop (``hard``: kill -9) and start again on the same directory, port and config."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        """Kill the program, delete its directory and release its ports; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.on_closing()
        self.kill()  # no graceful save: the directory is deleted next
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        forget_at_exit(self)

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._closed else "stopped")
        port = self._claim.port if self._claim else None
        return f"<{type(self).__name__} {self.name} port={port} {state}>"
