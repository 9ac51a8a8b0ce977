"""Sandboxed redis-server processes: one private directory, one claimed loopback port each.

``RedisServer`` is a plain object and a context manager::

    with RedisServer({"maxmemory": "10mb"}) as server:
        r = server.client()

Guarantees, each covered by a test:

* the port is claimed with a lock (:mod:`course.ports`), so parallel kernels never collide;
* the server binds 127.0.0.1 only and keeps protected mode on;
* "ready" means it answers PING and has finished loading its data; a failed start raises
  :class:`RedisStartError` quoting the server's own log;
* the server runs in its own session (kernel shutdown signals do not reach it) and, on Linux, gets
  SIGKILL when the process that started it dies (``PR_SET_PDEATHSIG``), even a SIGKILLed kernel;
* ``atexit`` closes every server still open, and any start first sweeps directories (and servers)
  left by processes that died without cleaning up;
* ``stop``, ``kill`` and ``close`` are idempotent.

Start servers from the thread that will outlive them (the notebook's main thread): Linux delivers
the parent-death signal when the *thread* that forked the server exits.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.binaries import RedisBinaries, find_redis
from course.lifecycle import Managed
from course.ports import LOOPBACK, PortClaim, claim_port
from course.settings import sandbox_root

ConfigValue = str | int | float | bool | Path | Sequence[str]
Config = Mapping[str, ConfigValue]

#: Directives the sandbox owns: a user config cannot move the server off its port or loopback.
RESERVED = frozenset({"port", "bind", "dir", "daemonize", "logfile", "pidfile", "supervised"})

OWNER_FILE = "owner.json"
CONFIG_FILE = "redis.conf"
LOG_FILE = "redis.log"
PORT_RETRIES = 5


class RedisStartError(RuntimeError):
    """redis-server did not come up; the message ends with the tail of its log."""


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _process_start_time(pid: int) -> float | None:
    """Start time of a live process; ``None`` if it is gone or a zombie (dead, not yet reaped)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _same_process(pid: int, started: float | None) -> bool:
    """Is ``pid`` still the process that started at ``started`` (not a reused pid)?"""
    actual = _process_start_time(pid)
    return actual is not None and started is not None and abs(actual - started) < 0.5


def format_config(config: Config) -> str:
    """Render a mapping as redis.conf lines.

    Strings are written as Redis config syntax (``"save": "900 1 300 10"``); ``""`` becomes
    ``""``; booleans become yes/no; paths are quoted absolute paths; a list repeats the directive.
    """
    lines = []
    for name, value in config.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, bool):
                text = "yes" if item else "no"
            elif isinstance(item, Path):
                text = json.dumps(str(item.resolve()))
            else:
                text = str(item)
            lines.append(f"{name} {text if text else chr(34) * 2}")
    return "\n".join(lines) + "\n"


def sweep_leftovers(root: Path | None = None, *, force: bool = False) -> list[Path]:
    """Remove sandbox directories whose owner process is gone, killing any server still in them.

    ``force`` removes every sandbox directory, live owner or not (``python -m course clean --force``).
    """
    root = root or sandbox_root()
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for directory in root.iterdir():
        owner_file = directory / OWNER_FILE
        if not directory.is_dir() or directory.name == "ports":
            continue
        try:
            owner = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            # Being created, or not ours: leave directories younger than a minute alone.
            try:
                young = time.time() - directory.stat().st_mtime < 60
            except FileNotFoundError:
                continue  # removed meanwhile by its owner
            if not force and young:
                continue
            owner = {"pid": -1, "started": 0.0}
        if not force and owner["pid"] > 0 and _same_process(owner["pid"], owner["started"]):
            continue
        server = owner.get("server")
        if server and _same_process(server["pid"], server["started"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(server["pid"], signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


_open_servers: weakref.WeakSet[RedisServer] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for server in list(_open_servers):
        server.close()


class RedisServer(Managed):
    """One redis-server in its own directory on a claimed loopback port."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        name: str = "redis",
        binaries: RedisBinaries | None = None,
        port_offsets: Iterable[int] = (),
        start_timeout: float = 10.0,
        ready_check: Callable[[RedisServer], bool] | None = None,
    ) -> None:
        config = dict(config or {})
        reserved = RESERVED.intersection(config)
        if reserved:
            raise ValueError(
                f"The sandbox sets {', '.join(sorted(reserved))} itself; remove it from the config."
            )
        self.config: dict[str, ConfigValue] = config
        self.name = name
        self.binaries = binaries or find_redis()
        self.start_timeout = start_timeout
        self._port_offsets = tuple(port_offsets)
        self._ready_check = ready_check
        self._claim: PortClaim | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._clients: list[redis.Redis] = []
        self._dir: Path | None = None
        self._closed = False

    # -- paths and addresses -------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The server's private working directory (absolute)."""
        if self._dir is None:
            root = sandbox_root()
            root.mkdir(parents=True, exist_ok=True)
            sweep_leftovers(root)
            self._dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{self.name}-", dir=root))
            self._write_owner()
        return self._dir

    @property
    def port(self) -> int:
        if self._claim is None:
            raise RuntimeError("The server has no port yet: call start() first.")
        return self._claim.port

    def extra_port(self, offset: int) -> int:
        """A port claimed at ``port + offset`` (cluster bus, TLS)."""
        if self._claim is None:
            raise RuntimeError("The server has no port yet: call start() first.")
        return self._claim.extra[offset]

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://{self.address}"

    @property
    def log_path(self) -> Path:
        return self.dir / LOG_FILE

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log (stdout and stderr together)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start (or restart on the same directory and port) and wait until ready.

        ``redis.conf`` is written from :attr:`config` at every start, so changing ``config``
        between ``stop()`` and ``start()`` restarts the server with the new settings; a server
        whose start failed can be started again the same way.
        """
        if self._closed:
            raise RuntimeError("This server was closed; create a new RedisServer.")
        if self.running:
            return self
        _open_servers.add(self)
        for attempt in range(PORT_RETRIES):
            if self._claim is None:
                self._claim = claim_port(self._port_offsets)
            try:
                self._spawn_and_wait()
                return self
            except RedisStartError as error:
                # Someone bound the port between our probe and the server's bind: take another.
                if "Address already in use" in str(error) and attempt + 1 < PORT_RETRIES:
                    self._claim.release()
                    self._claim = None
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_owner(self) -> None:
        owner: dict[str, Any] = {"pid": os.getpid(), "started": _process_start_time(os.getpid())}
        if self._process is not None:
            owner["server"] = {
                "pid": self._process.pid,
                "started": _process_start_time(self._process.pid),
            }
        # Atomic: a sweep in another process must never read a half-written owner file.
        partial = self.dir / f".{OWNER_FILE}.tmp"
        partial.write_text(json.dumps(owner))
        os.replace(partial, self.dir / OWNER_FILE)

    def _spawn_and_wait(self) -> None:
        directory = self.dir
        settings: dict[str, ConfigValue] = {
            "bind": LOOPBACK,
            "port": self.port,
            "protected-mode": "yes",
            "daemonize": "no",
            "dir": directory,
            "logfile": "",
            "save": "",
            "appendonly": "no",
        }
        settings.update(self.config)
        self.config_path.write_text(format_config(settings))
        with self.log_path.open("ab") as log:
            log.write(f"--- sandbox: starting redis-server on port {self.port} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [str(self.binaries.server), str(self.config_path)],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_pdeathsig,  # noqa: PLW1509 - only calls prctl, safe after fork
            )
        self._write_owner()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        # No retries: the loop itself retries, and redis-py's backoff would slow every start.
        probe = redis.Redis(
            host=LOOPBACK, port=self.port, socket_timeout=1, protocol=2, retry=Retry(NoBackoff(), 0)
        )
        try:
            while time.monotonic() < deadline:
                assert self._process is not None
                code = self._process.poll()
                if code is not None:
                    self._process = None
                    raise RedisStartError(
                        f"redis-server exited with code {code} while starting.\n"
                        f"Its log ({self.log_path}) ends with:\n{self.log_tail()}"
                    )
                if self._ready_check is not None:
                    if self._ready_check(self):
                        return
                elif self._answers(probe):
                    return
                time.sleep(0.002)  # a server is usually up within a few ms
        finally:
            probe.close()
        tail = self.log_tail()
        self.kill()
        raise RedisStartError(
            f"redis-server did not become ready within {self.start_timeout:.0f} s.\n"
            f"Its log ({self.log_path}) ends with:\n{tail}"
        )

    @staticmethod
    def _answers(probe: redis.Redis) -> bool:
        try:
            probe.ping()
            return bool(probe.info("persistence").get("loading", 0) == 0)
        except redis.AuthenticationError:
            return True  # password protected: it answers, the caller authenticates
        except redis.ResponseError as error:
            # NOAUTH / NOPERM mean the server is up; LOADING means not yet.
            return not str(error).startswith("LOADING")
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully with SIGTERM (saves if save points are set); idempotent.

        Clients made by :meth:`client` stay usable: they reconnect once the server is back.
        """
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
        """SIGKILL the server, as a crash would: nothing is saved or fsynced; idempotent."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self, *, hard: bool = False) -> Self:
        """Stop (``hard``: kill -9) and start again on the same directory, port and config."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server, delete its directory and release its port; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_clients()
        self.kill()  # no graceful save: the directory is deleted next
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        _open_servers.discard(self)

    # -- clients -------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client for this server (``decode_responses=True`` unless overridden)."""
        kwargs.setdefault("decode_responses", True)
        client = redis.Redis(host=LOOPBACK, port=self.port, **kwargs)
        self._clients.append(client)
        return client

    def cli(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        """Run ``redis-cli -p <port> ARGS`` and return its output."""
        command = [str(self.binaries.tool("redis-cli")), "-h", LOOPBACK, "-p", str(self.port), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)} failed: {result.stderr or result.stdout}")
        return result.stdout

    def _close_clients(self) -> None:
        while self._clients:
            with contextlib.suppress(Exception):
                self._clients.pop().close()

    # -- context manager -----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._closed else "stopped")
        port = self._claim.port if self._claim else None
        return f"<RedisServer {self.name} port={port} {state}>"


def start_server(config: Config | None = None, **kwargs: Any) -> RedisServer:
    """Start a sandbox server; shorthand for ``RedisServer(config, **kwargs).start()``."""
    return RedisServer(config, **kwargs).start()
