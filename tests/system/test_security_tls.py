"""TLS sandbox servers: TLS-only and dual listeners, verification, mutual TLS, honest TLS detection."""

from __future__ import annotations

import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.lessons.certificates import Identity, issue_certificate, make_ca, write_tls_files
from course.sandbox import binaries
from course.sandbox.binaries import RedisNotFoundError, find_redis
from course.sandbox.tls import STRICT_VERIFY_FLAGS, TlsFiles, TlsRedisServer, require_tls, tls_client_kwargs

needs_tls = pytest.mark.skipif(not find_redis().tls, reason="this redis-server was built without TLS")
NO_RETRY = Retry(NoBackoff(), 0)
VALKEY_WITHOUT_TLS = Path("/opt/valkey/9.1.2")


@pytest.fixture(scope="module")
def ca() -> Identity:
    return make_ca()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, ca: Identity) -> TlsFiles:
    return write_tls_files(tmp_path_factory.mktemp("pki"), ca=ca)


@pytest.fixture
def tls_only(pki: TlsFiles) -> Iterator[TlsRedisServer]:
    with TlsRedisServer(pki) as server:
        yield server


@needs_tls
def test_a_tls_only_server_refuses_plaintext_and_serves_verified_clients(tls_only: TlsRedisServer) -> None:
    admin = tls_only.client()
    assert admin.config_get("port")["port"] == "0"
    assert admin.config_get("tls-port")["tls-port"] == str(tls_only.port)
    assert admin.config_get("tls-cert-file")["tls-cert-file"] == str(tls_only.files.server_cert)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_only.port, protocol=2, retry=NO_RETRY).ping()
    by_url = {name: value for name, value in tls_client_kwargs(tls_only.files).items() if name != "ssl"}
    assert redis.Redis.from_url(tls_only.url, **by_url).ping()  # rediss:// already means TLS
    assert "PONG" in tls_only.cli("PING")


@needs_tls
def test_mutual_tls_needs_a_certificate_of_the_ca(tls_only: TlsRedisServer, tmp_path: Path) -> None:
    stranger = write_tls_files(tmp_path / "stranger")
    with pytest.raises(redis.ConnectionError):
        tls_only.tls_client(client_cert=False, protocol=2, retry=NO_RETRY).ping()
    foreign = {**tls_client_kwargs(tls_only.files), "ssl_certfile": str(stranger.client_cert)}
    foreign["ssl_keyfile"] = str(stranger.client_key)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_only.port, protocol=2, retry=NO_RETRY, **foreign).ping()
    untrusting = tls_client_kwargs(replace(tls_only.files, ca_cert=stranger.ca_cert))
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_only.port, protocol=2, retry=NO_RETRY, **untrusting).ping()
    tls_only.client().config_set("tls-auth-clients", "optional")
    assert tls_only.tls_client(client_cert=False).ping()


@needs_tls
def test_a_dual_server_has_both_listeners_on_claimed_ports(pki: TlsFiles) -> None:
    with TlsRedisServer(pki, plaintext=True, auth_clients="no") as server:
        assert server.tls_port == server.port + 1
        assert server.client().ping()
        assert server.tls_client(client_cert=False).ping()
        assert server.client().config_get("port")["port"] == str(server.port)
        assert "PONG" in server.cli("PING")
        directory = server.dir
    assert not directory.exists()


@needs_tls
def test_the_server_is_ready_even_with_a_certificate_for_another_name(tmp_path: Path, ca: Identity) -> None:
    elsewhere = write_tls_files(tmp_path, ca=ca, hosts=["db.internal.example"])
    with TlsRedisServer(elsewhere) as server:
        with pytest.raises(redis.ConnectionError):
            server.tls_client(protocol=2, retry=NO_RETRY).ping()  # hostname checked: 127.0.0.1 is not named
        assert server.tls_client(ssl_check_hostname=False).ping()


def handshake(port: int, files: TlsFiles, *, strict: bool) -> None:
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    if strict:
        for flag in STRICT_VERIFY_FLAGS:
            context.verify_flags |= flag
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"PING\r\n")
        assert tls.recv(64) == b"+PONG\r\n"


@needs_tls
def test_strict_verification_needs_the_authority_key_identifier(
    tls_only: TlsRedisServer, ca: Identity
) -> None:
    handshake(tls_only.port, tls_only.files, strict=True)  # the course's certificates pass strict checks
    bare = issue_certificate(ca, "redis-server", purpose="server", key_identifiers=False)
    cert, key_path = bare.write(tls_only.dir, "bare")
    tls_only.client().execute_command(
        "CONFIG", "SET", "tls-cert-file", str(cert), "tls-key-file", str(key_path)
    )
    handshake(tls_only.port, tls_only.files, strict=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tls_only.port, tls_only.files, strict=True)


def test_require_tls_names_the_server_when_tls_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    without = replace(find_redis(), tls=False)
    monkeypatch.setattr("course.sandbox.tls.find_redis", lambda: without)
    with pytest.raises(RedisNotFoundError, match="built without TLS support"):
        require_tls()
    with pytest.raises(RedisNotFoundError):
        TlsRedisServer(TlsFiles(*(Path("/nonexistent"),) * 5))


@pytest.mark.parametrize(
    ("output", "supported"),
    [
        ("# No tls-cert-file configured!\n# Failed to configure TLS. Check logs for more info.", True),
        ("*** FATAL CONFIG FILE ERROR ***\nBad directive or wrong number of arguments", False),
        ("# Missing implement of connection type tls\n# Failed finding TLS support.", False),
    ],
)
def test_tls_support_is_read_from_what_the_server_says(tmp_path: Path, output: str, supported: bool) -> None:
    server = tmp_path / "redis-server"
    server.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit 1\n")
    server.chmod(server.stat().st_mode | stat.S_IEXEC)
    assert binaries._supports_tls(server) is supported


@pytest.mark.skipif(
    not (VALKEY_WITHOUT_TLS / "valkey-server").exists(), reason="no Valkey build without TLS here"
)
def test_a_valkey_build_without_openssl_is_reported_without_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    find_redis.cache_clear()
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(VALKEY_WITHOUT_TLS))
    try:
        found = find_redis()
        assert found.flavour == "valkey"
        assert found.tls is False, (
            "Valkey accepts tls-port without TLS support: detection must not trust that"
        )
    finally:
        find_redis.cache_clear()
