"""Redis Sentinel in the sandbox: one Sentinel process, and a watched master with its replicas.

``SentinelProcess`` is a :class:`course.sandbox.process.SandboxProcess`: loopback only, a claimed
port, a private directory holding its own ``sentinel.conf`` (absolute paths), and it dies with the
kernel. It is ready when it answers PING and has connected to the master it watches.

Sentinel rewrites its configuration file itself (its id, the epochs, the replicas and Sentinels it
discovered), so the file is written only at the first start: a restarted Sentinel keeps its identity.

``SentinelGroup`` (in :mod:`course.sandbox.sentinel_group`) starts a master, its replicas and
several Sentinels watching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.binaries import RedisBinaries, find_redis
from course.sandbox.config import ConfigValue, format_config
from course.sandbox.ports import LOOPBACK
from course.sandbox.process import SandboxProcess, SandboxStartError

__all__ = ["Monitor", "SentinelProcess", "SentinelStartError", "flags_of", "sentinel_settings"]

CONFIG_FILE = "sentinel.conf"

#: Sentinel refuses master names with spaces or quotes in its configuration file.
SERVICE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class SentinelStartError(SandboxStartError):
    """A Sentinel did not come up; the message ends with the tail of its log."""


@dataclass(frozen=True)
class Monitor:
    """What one Sentinel watches: ``sentinel monitor <service> <host> <port> <quorum>`` and timings.

    ``down_after_ms``: how long the master may stay silent before this Sentinel flags it
    subjectively down (Redis's default is 30000). ``failover_timeout_ms``: how long a failover may
    take, and how long before a failed attempt is retried (twice this; Redis's default is 180000).
    """

    service: str
    port: int
    quorum: int = 2
    down_after_ms: int = 30_000
    failover_timeout_ms: int = 180_000
    parallel_syncs: int = 1
    host: str = LOOPBACK

    def __post_init__(self) -> None:
        if not SERVICE_NAME.match(self.service):
            raise ValueError(f"A service name is letters, digits, '.', '_' or '-', not {self.service!r}.")
        if self.quorum < 1:
            raise ValueError("The quorum is at least 1.")
        if self.down_after_ms <= 0 or self.failover_timeout_ms <= 0 or self.parallel_syncs <= 0:
            raise ValueError("down_after_ms, failover_timeout_ms and parallel_syncs must be positive.")

    def directives(self) -> list[str]:
        """The ``sentinel ...`` lines, ``monitor`` first (the others name the service it defines)."""
        name = self.service
        return [
            f"monitor {name} {self.host} {self.port} {self.quorum}",
            f"down-after-milliseconds {name} {self.down_after_ms}",
            f"failover-timeout {name} {self.failover_timeout_ms}",
            f"parallel-syncs {name} {self.parallel_syncs}",
        ]


def sentinel_settings(port: int, directory: Path, monitor: Monitor) -> dict[str, ConfigValue]:
    """The whole ``sentinel.conf`` of one sandbox Sentinel, as ``format_config`` renders it."""
    if not directory.is_absolute():
        raise ValueError(f"A Sentinel's directory must be absolute (it changes into it): {directory}")
    return {
        "port": port,
        "bind": LOOPBACK,
        "protected-mode": "yes",
        "daemonize": "no",
        "dir": directory,
        "logfile": "",
        "sentinel": monitor.directives(),
    }


def flags_of(state: dict[str, Any]) -> set[str]:
    """The ``flags`` of a parsed ``SENTINEL MASTER/REPLICAS`` entry (a string in RESP2, a set in RESP3)."""
    flags = state.get("flags", "")
    return set(flags.split(",")) if isinstance(flags, str) else set(flags)


class SentinelProcess(SandboxProcess):
    """One Sentinel on a claimed loopback port, watching one master."""

    start_error = SentinelStartError
    log_name = "sentinel.log"
    program = "redis-sentinel"

    def __init__(
        self,
        monitor: Monitor,
        *,
        name: str = "sentinel",
        binaries: RedisBinaries | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        super().__init__(name=name, start_timeout=start_timeout)
        self.monitor = monitor
        self.binaries = binaries or find_redis()
        self._probe: redis.Redis | None = None
        self._clients: list[redis.Redis] = []

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    @property
    def service(self) -> str:
        return self.monitor.service

    def prepare(self) -> None:
        # Only once: Sentinel rewrites this file with what it learns and must find it again.
        if not self.config_path.exists():
            self.config_path.write_text(format_config(sentinel_settings(self.port, self.dir, self.monitor)))

    def argv(self) -> list[str]:
        program, *mode = self.binaries.sentinel_command()
        # The configuration file comes first: `redis-server sentinel.conf --sentinel`.
        return [program, str(self.config_path), *mode]

    def _client(self) -> redis.Redis:
        if self._probe is None or self._probe.connection_pool.connection_kwargs["port"] != self.port:
            self._probe = redis.Redis(
                host=LOOPBACK,
                port=self.port,
                protocol=2,
                decode_responses=True,
                socket_timeout=2,
                retry=Retry(NoBackoff(), 0),
            )
        return self._probe

    def is_ready(self) -> bool:
        try:
            state = self.master_state()
        except (redis.ConnectionError, redis.TimeoutError):
            return False
        return "disconnected" not in flags_of(state)

    def on_closing(self) -> None:
        for client in [*self._clients, self._probe]:
            if client is not None:
                client.close()
        self._clients.clear()
        self._probe = None

    # -- what it knows ------------------------------------------------------------------------------

    def command(self, *args: Any) -> Any:
        """Send one command to this Sentinel (RESP2, no retries)."""
        return self._client().execute_command(*args)

    def master_state(self) -> dict[str, Any]:
        """``SENTINEL MASTER <service>``, parsed by redis-py (fields by name)."""
        return cast(dict[str, Any], self._client().sentinel_master(self.service))

    def replicas_state(self) -> list[dict[str, Any]]:
        """``SENTINEL REPLICAS <service>``, parsed by redis-py."""
        states: list[dict[str, Any]] = self._client().sentinel_slaves(self.service)
        return states

    def master_address(self) -> tuple[str, int] | None:
        """``SENTINEL GET-MASTER-ADDR-BY-NAME <service>`` as ``(host, port)``."""
        address = cast(Any, self._client().sentinel_get_master_addr_by_name(self.service))
        return (str(address[0]), int(address[1])) if address else None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client for this Sentinel (``decode_responses=True`` unless overridden)."""
        kwargs.setdefault("decode_responses", True)
        client = redis.Redis(host=LOOPBACK, port=self.port, **kwargs)
        self._clients.append(client)
        return client
