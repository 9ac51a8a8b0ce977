"""Sandboxed redis-server processes that speak TLS, and the settings both ends need.

``TlsRedisServer`` is a :class:`course.sandbox.servers.RedisServer` whose claimed port is its TLS
port; the plaintext listener is off (``port 0``) unless ``plaintext=True`` opens one beside it
(on the next claimed port), so the same process can be measured with and without TLS.
Certificate paths are written absolute (``--dir`` changes the server's working directory before
it reads them). "Ready" means a TLS client with the client certificate, verifying the server's
chain (not its name, so a lesson may give it a certificate for another name), answers PING.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.binaries import INSTALL_HINT, RedisNotFoundError, find_redis
from course.sandbox.config import Config, ConfigValue
from course.sandbox.ports import LOOPBACK
from course.sandbox.servers import RedisServer

AuthClients = Literal["yes", "no", "optional"]

#: Checks Python 3.13 turns on by default; set on older Pythons too, so that every version agrees.
STRICT_VERIFY_FLAGS = (ssl.VERIFY_X509_STRICT, ssl.VERIFY_X509_PARTIAL_CHAIN)

TLS_OFFSET = 1  # the TLS port sits one above the plaintext port when both are open


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one small PKI: the CA, the server's certificate and a client's certificate."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def tls_server_config(files: TlsFiles, *, auth_clients: AuthClients = "yes") -> dict[str, ConfigValue]:
    """The ``tls-*`` directives for a server presenting ``files.server_cert`` (absolute paths)."""
    return {
        "tls-cert-file": files.server_cert.resolve(),
        "tls-key-file": files.server_key.resolve(),
        "tls-ca-cert-file": files.ca_cert.resolve(),
        "tls-auth-clients": auth_clients,
    }


def tls_client_kwargs(files: TlsFiles, *, client_cert: bool = True) -> dict[str, Any]:
    """redis-py arguments for a verified TLS client (hostname checked, strict checks on)."""
    kwargs: dict[str, Any] = {
        "ssl": True,
        "ssl_ca_certs": str(files.ca_cert.resolve()),
        "ssl_check_hostname": True,
        "ssl_include_verify_flags": list(STRICT_VERIFY_FLAGS),
    }
    if client_cert:
        kwargs["ssl_certfile"] = str(files.client_cert.resolve())
        kwargs["ssl_keyfile"] = str(files.client_key.resolve())
    return kwargs


def require_tls() -> None:
    """Raise :class:`RedisNotFoundError` with a clear message if the server was built without TLS."""
    binaries = find_redis()
    if not binaries.tls:
        raise RedisNotFoundError(
            f"{binaries.describe()} was built without TLS support, so this TLS demonstration cannot "
            f"run here.\n{INSTALL_HINT}"
        )


class TlsRedisServer(RedisServer):
    """A redis-server listening with TLS on its claimed port (plus plaintext if asked)."""

    def __init__(
        self,
        files: TlsFiles,
        config: Config | None = None,
        *,
        auth_clients: AuthClients = "yes",
        plaintext: bool = False,
        name: str = "tls",
        **kwargs: Any,
    ) -> None:
        config = dict(config or {})
        if "tls-port" in config:
            raise ValueError("TlsRedisServer sets tls-port itself; remove it from the config.")
        require_tls()
        super().__init__(
            {**tls_server_config(files, auth_clients=auth_clients), **config},
            name=name,
            port_offsets=(TLS_OFFSET,) if plaintext else (),
            **kwargs,
        )
        self.files = files
        self.plaintext = plaintext
        self._tls_probe: redis.Redis | None = None

    @property
    def tls_port(self) -> int:
        return self.extra_port(TLS_OFFSET) if self.plaintext else self.port

    @property
    def url(self) -> str:
        """``rediss://`` URL of the TLS listener."""
        return f"rediss://{LOOPBACK}:{self.tls_port}"

    def settings(self) -> dict[str, ConfigValue]:
        settings = super().settings()
        settings["tls-port"] = self.tls_port
        if not self.plaintext:
            settings["port"] = 0  # no plaintext listener at all
        return settings

    def is_ready(self) -> bool:
        if (
            self._tls_probe is None
            or self._tls_probe.connection_pool.connection_kwargs["port"] != self.tls_port
        ):
            self._tls_probe = redis.Redis(
                host=LOOPBACK,
                port=self.tls_port,
                socket_timeout=1,
                protocol=2,
                retry=Retry(NoBackoff(), 0),
                # The chain is verified; the name is not, so a lesson may give the server a wrong one.
                **{**tls_client_kwargs(self.files), "ssl_check_hostname": False},
            )
        try:
            self._tls_probe.ping()
            return bool(self._tls_probe.info("persistence").get("loading", 0) == 0)
        except redis.AuthenticationError:
            return True  # it answers; the caller authenticates
        except redis.ResponseError as error:
            return not str(error).startswith("LOADING")
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def on_closing(self) -> None:
        if self._tls_probe is not None:
            self._tls_probe.close()
            self._tls_probe = None
        super().on_closing()

    def tls_client(self, *, client_cert: bool = True, **kwargs: Any) -> redis.Redis:
        """A verified TLS client of this server (``decode_responses=True`` unless overridden)."""
        kwargs.setdefault("decode_responses", True)
        options = {**tls_client_kwargs(self.files, client_cert=client_cert), **kwargs}
        client = redis.Redis(host=LOOPBACK, port=self.tls_port, **options)
        self._clients.append(client)
        return client

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plaintext client if a plaintext port is open, else a TLS client with the client certificate."""
        return super().client(**kwargs) if self.plaintext else self.tls_client(**kwargs)

    def cli(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        """``redis-cli`` over TLS (with the client certificate) against the TLS port."""
        if self.plaintext:
            return super().cli(*args, check=check, timeout=timeout)
        tls_args = [
            "--tls",
            "--cacert",
            str(self.files.ca_cert.resolve()),
            "--cert",
            str(self.files.client_cert.resolve()),
            "--key",
            str(self.files.client_key.resolve()),
        ]
        return super().cli(*tls_args, *args, check=check, timeout=timeout)  # -p is the TLS port
