"""Certificates for the security lesson, made with the ``cryptography`` package.

* :func:`make_ca` - a self-signed CA (basic constraints, key usage, subject and authority key ids).
* :func:`issue_certificate` - a server or client certificate signed by a CA, with SANs for
  ``127.0.0.1`` and ``localhost`` by default (or any hosts, or a validity already over).
* :func:`write_tls_files` - a CA, a server and a client certificate written as PEM files, as a
  :class:`course.sandbox.tls.TlsFiles`; the CA's key is never written.
* :func:`certificate_summary` - the fields of a certificate worth reading, by name.

Python 3.13 verifies strictly by default (``VERIFY_X509_STRICT``): it rejects certificates
without subject and authority key identifiers, so every certificate here has both.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from course.sandbox.tls import TlsFiles

DEFAULT_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write_cert(self, directory: Path, stem: str) -> Path:
        """Write ``<stem>.crt`` (PEM); return its absolute path."""
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        cert_path = directory / f"{stem}.crt"
        cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return cert_path

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.crt`` and ``<stem>.key`` (readable by the owner only); absolute paths."""
        cert_path = self.write_cert(directory, stem)
        key_path = cert_path.with_suffix(".key")
        key_path.touch(mode=0o600)
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Redis Advanced Concepts course"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(not_before: dt.datetime | None, valid_days: float) -> tuple[dt.datetime, dt.datetime]:
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate clock skew
    return start, start + dt.timedelta(days=valid_days)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Digital signatures for all; a CA signs certificates and CRLs, a leaf agrees keys (ECDHE)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(common_name: str = "Redis course CA", *, valid_days: float = 30) -> Identity:
    """A self-signed CA: basic constraints CA (critical), key usage to sign certificates, SKI and AKI."""
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(None, valid_days)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Identity(cert, key)


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue_certificate(
    ca: Identity,
    common_name: str,
    *,
    purpose: Literal["server", "client"],
    hosts: Sequence[str] = DEFAULT_HOSTS,
    not_before: dt.datetime | None = None,
    valid_days: float = 30,
    key_identifiers: bool = True,
) -> Identity:
    """A leaf certificate signed by ``ca`` for ``purpose``, with SANs for ``hosts`` (IPs or DNS names).

    Server certificates are what hostname checking compares the address a client dialled with;
    client certificates carry the same SANs (harmless) and the clientAuth extended key usage.
    ``not_before`` and ``valid_days`` let a lesson make a certificate that is already expired;
    ``key_identifiers=False`` leaves out the subject and authority key identifiers, as older
    tools did, to show what strict verification says about such a certificate.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(not_before, valid_days)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    ca_public = ca.key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if key_identifiers:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    return Identity(builder.sign(ca.key, hashes.SHA256()), key)


def write_tls_files(
    directory: Path,
    *,
    ca: Identity | None = None,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    prefix: str = "",
) -> TlsFiles:
    """Make (or reuse) a CA, issue a server and a client certificate, and write them to ``directory``.

    Files are ``<prefix>ca.crt``, ``<prefix>server.crt``/``.key`` and ``<prefix>client.crt``/``.key``;
    the CA's key is never written. Paths are absolute.
    """
    ca = ca or make_ca()
    ca_cert = ca.write_cert(directory, f"{prefix}ca")  # the CA's key never leaves memory
    server = issue_certificate(ca, "redis-server", purpose="server", hosts=hosts)
    client = issue_certificate(ca, "redis-client", purpose="client", hosts=hosts)
    server_cert, server_key = server.write(directory, f"{prefix}server")
    client_cert, client_key = client.write(directory, f"{prefix}client")
    return TlsFiles(ca_cert, server_cert, server_key, client_cert, client_key)


def _extension_value(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def load_certificate(cert: x509.Certificate | Path) -> x509.Certificate:
    """A certificate object, read from a PEM file if a path is given."""
    if isinstance(cert, x509.Certificate):
        return cert
    return x509.load_pem_x509_certificate(Path(cert).read_bytes())


def certificate_summary(
    cert: x509.Certificate | Path, *, issuer: x509.Certificate | Path | None = None
) -> dict[str, str]:
    """The fields of ``cert`` worth reading, as text by field name (no random values).

    Key identifiers are reported as present or missing; with ``issuer`` given, the authority key
    identifier is also compared with the issuer's subject key identifier (how a verifier finds
    the signer of a certificate).
    """
    cert = load_certificate(cert)
    san = _extension_value(cert, x509.SubjectAlternativeName)
    constraints = _extension_value(cert, x509.BasicConstraints)
    usage = _extension_value(cert, x509.ExtendedKeyUsage)
    ski = _extension_value(cert, x509.SubjectKeyIdentifier)
    aki = _extension_value(cert, x509.AuthorityKeyIdentifier)
    aki_text = "MISSING"
    if isinstance(aki, x509.AuthorityKeyIdentifier) and aki.key_identifier:
        aki_text = "present"
        if issuer is not None:
            issuer_ski = _extension_value(load_certificate(issuer), x509.SubjectKeyIdentifier)
            matches = (
                isinstance(issuer_ski, x509.SubjectKeyIdentifier) and issuer_ski.digest == aki.key_identifier
            )
            aki_text += ", matches the issuer's key" if matches else ", does NOT match the issuer's key"
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() / 86400
    sans = [str(name.value) for name in san] if isinstance(san, x509.SubjectAlternativeName) else []
    usages = [oid._name for oid in usage] if isinstance(usage, x509.ExtendedKeyUsage) else []
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "subject alternative names": ", ".join(sans) or "(none)",
        "is a CA": str(isinstance(constraints, x509.BasicConstraints) and constraints.ca),
        "extended key usage": ", ".join(usages) or "(any)",
        "subject key identifier": "present" if isinstance(ski, x509.SubjectKeyIdentifier) else "MISSING",
        "authority key identifier": aki_text,
        "valid for (days)": f"{days:.0f}",
    }
