"""Helpers for the security lesson: ACL rule sets, certificates, TLS settings, timings, audit tables.

* :data:`MONITORING_RULES` - what a metrics exporter needs and nothing more (module 06 uses it),
  and :func:`create_monitoring_user`.
* :func:`make_ca`, :func:`issue_certificate`, :func:`write_tls_files`, :func:`certificate_summary`
  (from :mod:`course.lessons.certificates`) - a small PKI made with the ``cryptography`` package.
* :func:`tls_server_config` / :func:`tls_client_kwargs` / :class:`TlsRedisServer` (from
  :mod:`course.sandbox.tls`) - both ends of a TLS connection, with absolute paths.
* :func:`raw_replies` / :func:`raw_command` - replies exactly as the server writes them, on a new
  connection from a chosen source address (protected mode); :func:`can_bind` checks that address.
* :func:`ssl_reason` - the TLS reason inside a redis-py connection error.
* :func:`round_trips` - seconds per round trip, one command at a time or pipelined.
* :func:`audit_table` - a configuration audit, rendered (the audit itself is an exercise).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Mapping, Sequence

import pandas as pd
import redis

from course.lessons.certificates import (
    Identity,
    certificate_summary,
    issue_certificate,
    load_certificate,
    make_ca,
    write_tls_files,
)
from course.sandbox.ports import LOOPBACK
from course.sandbox.tls import (
    STRICT_VERIFY_FLAGS,
    TlsFiles,
    TlsRedisServer,
    require_tls,
    tls_client_kwargs,
    tls_server_config,
)

__all__ = [
    "AUDIT_CHECKS",
    "MONITORING_RULES",
    "STRICT_VERIFY_FLAGS",
    "Identity",
    "TlsFiles",
    "TlsRedisServer",
    "audit_table",
    "can_bind",
    "certificate_summary",
    "create_monitoring_user",
    "issue_certificate",
    "load_certificate",
    "make_ca",
    "monitoring_user_rules",
    "raw_command",
    "raw_replies",
    "require_tls",
    "round_trips",
    "ssl_reason",
    "tls_client_kwargs",
    "tls_server_config",
    "write_tls_files",
]

#: ACL rules of a monitoring user: connect, read INFO, LATENCY, SLOWLOG, CLIENT and CONFIG GET.
MONITORING_RULES: tuple[str, ...] = (
    "-@all",
    "+@connection",
    "+info",
    "+latency",
    "+slowlog",
    "+client",
    "+config|get",
)


def monitoring_user_rules(password: str) -> list[str]:
    """``ACL SETUSER`` arguments: start from nothing, enable, set the password, then the rules."""
    return ["reset", "on", f">{password}", *MONITORING_RULES]


def create_monitoring_user(client: redis.Redis, username: str, password: str) -> None:
    """Create (or reset) ``username`` with :data:`MONITORING_RULES` and ``password``."""
    client.execute_command("ACL", "SETUSER", username, *monitoring_user_rules(password))


_SSL_REASON = re.compile(r"\[SSL: [A-Z0-9_]+\] (.+?)(?:\s*\(_ssl\.c:\d+\)|'?\)?\.?$)")
_C_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)")


def ssl_reason(error: BaseException) -> str:
    """The TLS part of a redis-py connection error, without addresses or C source lines.

    ``"Error 1 connecting to 127.0.0.1:6380. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify
    failed: IP address mismatch ... (_ssl.c:1006)."`` -> ``"certificate verify failed: IP address
    mismatch ..."``; a message without an OpenSSL reason loses only its C source line.
    """
    text = str(error).strip()
    match = _SSL_REASON.search(text)
    if match:
        return match.group(1).rstrip(". ")
    return _C_SOURCE.sub("", text).rstrip(".")


# -- raw connections ------------------------------------------------------------------------------


def can_bind(address: str) -> bool:
    """Can a socket on this machine use ``address`` as its source (127.0.0.2 is loopback on Linux)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def _encode(command: Sequence[str]) -> bytes:
    parts = [f"*{len(command)}\r\n".encode()]
    for word in command:
        data = str(word).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def raw_replies(
    port: int, *commands: Sequence[str], source: str | None = None, host: str = LOOPBACK, timeout: float = 5
) -> list[str]:
    """Send ``commands`` on one new TCP connection (from ``source`` if given); return each reply line.

    Replies are returned as the server wrote their first line (``+PONG``, ``-DENIED ...``,
    ``-NOAUTH ...``), which shows error codes exactly; a connection closed early gives
    ``"(connection closed)"`` for the replies that never came. Bulk replies give their header line.
    """
    replies: list[str] = []
    with socket.create_connection(
        (host, port), timeout=timeout, source_address=(source, 0) if source else None
    ) as sock:
        reader = sock.makefile("rb")
        for command in commands:
            try:
                sock.sendall(_encode(command))
                line = reader.readline()
            except OSError:
                line = b""
            if not line:
                replies.append("(connection closed)")
                continue
            replies.append(line.decode(errors="replace").rstrip("\r\n"))
    return replies


def raw_command(port: int, *command: str, source: str | None = None) -> str:
    """The first reply line to one command sent on a new connection (see :func:`raw_replies`)."""
    return raw_replies(port, command, source=source)[0]


# -- measurements ---------------------------------------------------------------------------------


def round_trips(client: redis.Redis, *, count: int, batch: int = 1, key: str = "tls:probe") -> list[float]:
    """Seconds each of ``count`` round trips took: one ``GET key`` each, or ``batch`` GETs pipelined."""
    client.set(key, "x" * 64)
    samples = []
    if batch == 1:
        for _ in range(count):
            start = time.perf_counter()
            client.get(key)
            samples.append(time.perf_counter() - start)
        return samples
    pipe = client.pipeline(transaction=False)
    for _ in range(count):
        start = time.perf_counter()
        for _ in range(batch):
            pipe.get(key)
        pipe.execute()
        samples.append(time.perf_counter() - start)
    return samples


# -- configuration audit --------------------------------------------------------------------------

#: The checks of the configuration audit, in the order the table shows them.
AUDIT_CHECKS: tuple[str, ...] = (
    "auth",
    "bind",
    "protected-mode",
    "tls",
    "dangerous-commands",
    "enable-*",
    "persistence",
    "maxmemory",
)


def audit_table(findings: Mapping[str, Mapping[str, str | None]]) -> pd.DataFrame:
    """Render audits of several servers: a row per check, a column per server.

    ``findings`` maps a server's label to its audit (check name -> ``None`` when fine, else the
    reason it is weak). A cell reads ``ok`` or ``WEAK: <reason>``; a check an audit left out reads
    ``(not checked)``.
    """

    def verdict(audit: Mapping[str, str | None], check: str) -> str:
        if check not in audit:
            return "(not checked)"
        reason = audit[check]
        return "ok" if reason is None else f"WEAK: {reason}"

    checks = list(AUDIT_CHECKS) + sorted(
        {c for audit in findings.values() for c in audit} - set(AUDIT_CHECKS)
    )
    return pd.DataFrame(
        {label: [verdict(audit, check) for check in checks] for label, audit in findings.items()},
        index=pd.Index(checks, name="check"),
    )
