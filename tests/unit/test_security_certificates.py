"""The lesson's certificates: the extensions strict verification needs, SANs, validity, files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store, VerificationError

from course.lessons.certificates import (
    Identity,
    certificate_summary,
    issue_certificate,
    load_certificate,
    make_ca,
    write_tls_files,
)


@pytest.fixture(scope="module")
def ca() -> Identity:
    return make_ca()


def extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


def test_the_ca_is_a_critical_ca_with_key_identifiers(ca: Identity) -> None:
    constraints = extension(ca.cert, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = extension(ca.cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    ski = extension(ca.cert, x509.SubjectKeyIdentifier).value
    aki = extension(ca.cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest  # type: ignore[attr-defined]  # self-signed
    assert ca.cert.subject == ca.cert.issuer


def test_a_server_certificate_names_loopback_and_points_to_its_ca(ca: Identity) -> None:
    server = issue_certificate(ca, "redis-server", purpose="server")
    san = extension(server.cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]  # type: ignore[attr-defined]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]  # type: ignore[attr-defined]
    assert list(extension(server.cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]  # type: ignore[call-overload]
    aki = extension(server.cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == extension(ca.cert, x509.SubjectKeyIdentifier).value.digest  # type: ignore[attr-defined]
    assert not extension(server.cert, x509.BasicConstraints).value.ca  # type: ignore[attr-defined]
    server.cert.verify_directly_issued_by(ca.cert)
    assert server.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "redis-server"


def test_strict_rfc5280_verification_accepts_server_and_client(ca: Identity) -> None:
    store = Store([ca.cert])
    server = issue_certificate(ca, "redis-server", purpose="server")
    client = issue_certificate(ca, "redis-client", purpose="client")
    for name in (DNSName("localhost"), IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = PolicyBuilder().store(store).build_server_verifier(name).verify(server.cert, [])
        assert chain[-1] == ca.cert
    verified = PolicyBuilder().store(store).build_client_verifier().verify(client.cert, [])
    assert verified.chain[-1] == ca.cert


def test_strict_verification_rejects_other_names_other_cas_and_expired_certificates(ca: Identity) -> None:
    store = Store([ca.cert])
    named = issue_certificate(ca, "redis-server", purpose="server", hosts=["db.internal.example"])
    with pytest.raises(VerificationError):
        PolicyBuilder().store(store).build_server_verifier(DNSName("localhost")).verify(named.cert, [])
    stranger = issue_certificate(make_ca("another CA"), "redis-server", purpose="server")
    with pytest.raises(VerificationError):
        PolicyBuilder().store(store).build_server_verifier(DNSName("localhost")).verify(stranger.cert, [])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    expired = issue_certificate(ca, "redis-server", purpose="server", not_before=past, valid_days=1)
    assert expired.cert.not_valid_after_utc < dt.datetime.now(dt.UTC)
    with pytest.raises(VerificationError):
        PolicyBuilder().store(store).build_server_verifier(DNSName("localhost")).verify(expired.cert, [])


def test_write_tls_files_writes_pem_files_but_never_the_ca_key(tmp_path: Path, ca: Identity) -> None:
    files = write_tls_files(tmp_path / "pki", ca=ca, prefix="a-")
    names = sorted(path.name for path in (tmp_path / "pki").iterdir())
    assert names == ["a-ca.crt", "a-client.crt", "a-client.key", "a-server.crt", "a-server.key"]
    for path in (files.ca_cert, files.server_cert, files.server_key, files.client_cert, files.client_key):
        assert path.is_absolute()
        assert path.is_file()
    for key in (files.server_key, files.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert load_certificate(files.ca_cert) == ca.cert
    load_certificate(files.server_cert).verify_directly_issued_by(ca.cert)


def test_summary_reads_fields_by_name_and_checks_the_key_identifier(ca: Identity) -> None:
    server = issue_certificate(ca, "redis-server", purpose="server")
    summary = certificate_summary(server.cert, issuer=ca.cert)
    assert summary["subject alternative names"] == "127.0.0.1, localhost"
    assert summary["is a CA"] == "False"
    assert summary["extended key usage"] == "serverAuth"
    assert summary["subject key identifier"] == "present"
    assert summary["authority key identifier"] == "present, matches the issuer's key"
    assert summary["valid for (days)"] == "30"
    other = make_ca("another CA")
    assert certificate_summary(server.cert, issuer=other.cert)["authority key identifier"].endswith(
        "does NOT match the issuer's key"
    )
    assert certificate_summary(ca.cert)["is a CA"] == "True"


def test_summary_flags_a_certificate_without_key_identifiers() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bare")])
    now = dt.datetime.now(dt.UTC)
    bare = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    summary = certificate_summary(bare)
    assert summary["subject key identifier"] == "MISSING"
    assert summary["authority key identifier"] == "MISSING"
    assert summary["subject alternative names"] == "(none)"


def test_key_identifiers_can_be_left_out_to_show_strict_verification_failing(ca: Identity) -> None:
    bare = issue_certificate(ca, "redis-server", purpose="server", key_identifiers=False)
    summary = certificate_summary(bare.cert, issuer=ca.cert)
    assert (summary["subject key identifier"], summary["authority key identifier"]) == ("MISSING", "MISSING")
    bare.cert.verify_directly_issued_by(ca.cert)
