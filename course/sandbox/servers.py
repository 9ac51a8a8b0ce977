"""Sandboxed redis-server processes: one private directory, one claimed loopback port each.

``RedisServer`` is a :class:`course.sandbox.process.SandboxProcess` and a context manager::

    with RedisServer({"maxmemory": "10mb"}) as server:
        r = server.client()

On top of the base's guarantees: the server binds 127.0.0.1 only and keeps protected mode on, a
user config cannot move it off its port, directory or loopback, and "ready" means it answers PING
and has finished loading its data (a password-protected server counts as ready when it answers
NOAUTH).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.config import Config, ConfigValue, format_config
from course.sandbox.lifecycle import close_quietly
from course.sandbox.ports import LOOPBACK
from course.sandbox.process import SandboxProcess, SandboxStartError

__all__ = ["Config", "ConfigValue", "RedisServer", "RedisStartError", "format_config", "start_server"]

#: Directives the sandbox owns: a user config cannot move the server off its port or loopback.
RESERVED = frozenset({"port", "bind", "dir", "daemonize", "logfile", "pidfile", "supervised"})

CONFIG_FILE = "redis.conf"


class RedisStartError(SandboxStartError):
    """redis-server did not come up; the message ends with the tail of its log."""


class RedisServer(SandboxProcess):
    """One redis-server in its own directory on a claimed loopback port."""

    start_error = RedisStartError
    log_name = "redis.log"
    program = "redis-server"

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
        super().__init__(name=name, port_offsets=port_offsets, start_timeout=start_timeout)
        self.config: dict[str, ConfigValue] = config
        self.binaries = binaries or find_redis()
        self._ready_check = ready_check
        self._clients: list[redis.Redis] = []
        self._probe: redis.Redis | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.address}"

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    # -- what the base runs --------------------------------------------------------------------

    def settings(self) -> dict[str, ConfigValue]:
        """The whole configuration a start writes: the sandbox's own directives, then ``config``."""
        settings: dict[str, ConfigValue] = {
            "bind": LOOPBACK,
            "port": self.port,
            "protected-mode": "yes",
            "daemonize": "no",
            "dir": self.dir,
            "logfile": "",
            "save": "",
            "appendonly": "no",
        }
        settings.update(self.config)
        return settings

    def prepare(self) -> None:
        self.config_path.write_text(format_config(self.settings()))

    def argv(self) -> list[str]:
        return [str(self.binaries.server), str(self.config_path)]

    def is_ready(self) -> bool:
        if self._ready_check is not None:
            return self._ready_check(self)
        if self._probe is None or self._probe.connection_pool.connection_kwargs["port"] != self.port:
            # No retries: the base's loop retries, and redis-py's backoff would slow every start.
            self._probe = redis.Redis(
                host=LOOPBACK, port=self.port, socket_timeout=1, protocol=2, retry=Retry(NoBackoff(), 0)
            )
        try:
            self._probe.ping()
            return bool(self._probe.info("persistence").get("loading", 0) == 0)
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
        super().stop(timeout)

    def on_closing(self) -> None:
        close_quietly(self._clients)
        if self._probe is not None:
            self._probe.close()
            self._probe = None

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


def start_server(config: Config | None = None, **kwargs: Any) -> RedisServer:
    """Start a sandbox server; shorthand for ``RedisServer(config, **kwargs).start()``."""
    return RedisServer(config, **kwargs).start()
