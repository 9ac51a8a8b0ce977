"""Pure helpers of the security lesson: rule sets, TLS settings, error reasons, RESP, audit tables."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from course.lessons.security import (
    AUDIT_CHECKS,
    MONITORING_RULES,
    TlsFiles,
    audit_table,
    monitoring_user_rules,
    ssl_reason,
    tls_client_kwargs,
    tls_server_config,
)
from course.lessons.security import _encode as encode_command
from course.sandbox.config import format_config


def test_the_monitoring_rules_are_what_an_exporter_needs() -> None:
    assert MONITORING_RULES == (
        "-@all",
        "+@connection",
        "+info",
        "+latency",
        "+slowlog",
        "+client",
        "+config|get",
    )
    rules = monitoring_user_rules("s3cret")
    assert rules[:3] == ["reset", "on", ">s3cret"], "start from nothing, then enable and set the password"
    assert tuple(rules[3:]) == MONITORING_RULES


@pytest.fixture
def relative_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TlsFiles:
    monkeypatch.chdir(tmp_path)
    names = ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
    return TlsFiles(*(Path("pki") / name for name in names))


def test_the_server_config_has_absolute_paths(relative_files: TlsFiles, tmp_path: Path) -> None:
    config = tls_server_config(relative_files, auth_clients="optional")
    assert config["tls-auth-clients"] == "optional"
    assert config["tls-cert-file"] == tmp_path / "pki" / "server.crt"
    assert config["tls-key-file"] == tmp_path / "pki" / "server.key"
    assert config["tls-ca-cert-file"] == tmp_path / "pki" / "ca.crt"
    text = format_config(config)
    assert f'tls-cert-file "{tmp_path}/pki/server.crt"' in text
    assert "tls-auth-clients optional" in text


def test_client_settings_verify_strictly_and_present_a_certificate(
    relative_files: TlsFiles, tmp_path: Path
) -> None:
    kwargs = tls_client_kwargs(relative_files)
    assert kwargs["ssl"] is True
    assert kwargs["ssl_check_hostname"] is True
    assert kwargs["ssl_ca_certs"] == str(tmp_path / "pki" / "ca.crt")
    assert kwargs["ssl_certfile"] == str(tmp_path / "pki" / "client.crt")
    assert kwargs["ssl_keyfile"] == str(tmp_path / "pki" / "client.key")
    assert set(kwargs["ssl_include_verify_flags"]) == {ssl.VERIFY_X509_STRICT, ssl.VERIFY_X509_PARTIAL_CHAIN}
    anonymous = tls_client_kwargs(relative_files, client_cert=False)
    assert "ssl_certfile" not in anonymous
    assert "ssl_keyfile" not in anonymous


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "Error 1 connecting to 127.0.0.1:6380. [SSL: CERTIFICATE_VERIFY_FAILED] "
            "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006).",
            "certificate verify failed: self-signed certificate in certificate chain",
        ),
        (
            "Error 1 connecting to 127.0.0.1:6380. [SSL: CERTIFICATE_VERIFY_FAILED] "
            "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. "
            "(_ssl.c:1006).",
            "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'",
        ),
        (
            "Error while reading from 127.0.0.1:6380 : "
            "(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)')",
            "tlsv13 alert certificate required",
        ),
        (
            "Error 8 while writing to socket. EOF occurred in violation of protocol (_ssl.c:2427).",
            "Error 8 while writing to socket. EOF occurred in violation of protocol",
        ),
        (
            "Error while reading from 127.0.0.1:6380 : (104, 'Connection reset by peer')",
            "Error while reading from 127.0.0.1:6380 : (104, 'Connection reset by peer')",
        ),
    ],
)
def test_ssl_reason_keeps_only_the_tls_reason(message: str, reason: str) -> None:
    assert ssl_reason(ConnectionError(message)) == reason


def test_commands_are_encoded_as_resp_arrays() -> None:
    assert encode_command(["PING"]) == b"*1\r\n$4\r\nPING\r\n"
    assert encode_command(["AUTH", "pässword"]) == b"*2\r\n$4\r\nAUTH\r\n$9\r\np\xc3\xa4ssword\r\n"


def test_audit_table_rows_follow_the_checks_and_cells_say_why() -> None:
    table = audit_table(
        {
            "a": dict.fromkeys(AUDIT_CHECKS),
            "b": {"auth": "default has no password", "tls": None, "extra": "something else"},
        }
    )
    assert list(table.index) == [*AUDIT_CHECKS, "extra"]
    assert list(table.columns) == ["a", "b"]
    assert set(table["a"][list(AUDIT_CHECKS)]) == {"ok"}
    assert table.loc["auth", "b"] == "WEAK: default has no password"
    assert table.loc["tls", "b"] == "ok"
    assert table.loc["bind", "b"] == "(not checked)"
    assert table.loc["extra", "a"] == "(not checked)"
