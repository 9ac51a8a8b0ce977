"""Does a server build really speak TLS? Start it with a throwaway certificate and shake hands.

Accepting the ``tls-port`` directive proves nothing: a Valkey build without OpenSSL parses every
``tls-*`` option and only refuses at start ("Failed finding TLS support"), and Redis built with
TLS as a module needs that module loaded. So the probe starts a sandbox server with a TLS port
and a self-signed certificate, then sends PING over TLS. Any failure means "no TLS here".

:func:`tls_verdict` first asks what the build says (a build that refuses a TLS listener outright
is a "no" at once), and remembers a "yes" per exact binary (:func:`course.sandbox.binaries.build_key`)
so that every kernel after the first skips the probe; a "no" is measured again each time, so a
probe that failed for another reason (a machine too busy to start it in time) is not kept.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox.binaries import RedisBinaries, _supports_tls, build_key, cache_root
from course.sandbox.config import ConfigValue
from course.sandbox.ports import LOOPBACK
from course.sandbox.servers import RedisServer, RedisStartError

#: The probe's TLS port sits this far above its plain port.
TLS_PORT_OFFSET = 1

CERT_FILE = "probe.crt"
KEY_FILE = "probe.key"


def write_self_signed(folder: Path) -> tuple[Path, Path]:
    """A one-day self-signed certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "course TLS probe")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class TlsProbeServer(RedisServer):
    """A sandbox server with a TLS port beside its plain one (ready is still checked in plain)."""

    def __init__(self, binaries: RedisBinaries) -> None:
        super().__init__(name="tls-probe", binaries=binaries, port_offsets=(TLS_PORT_OFFSET,))

    @property
    def tls_port(self) -> int:
        return self.extra_port(TLS_PORT_OFFSET)

    def settings(self) -> dict[str, ConfigValue]:
        settings = super().settings()
        settings.update(
            {
                "tls-port": self.tls_port,
                "tls-cert-file": self.dir / CERT_FILE,
                "tls-key-file": self.dir / KEY_FILE,
                "tls-ca-cert-file": self.dir / CERT_FILE,
                "tls-auth-clients": "no",
            }
        )
        return settings

    def prepare(self) -> None:
        write_self_signed(self.dir)
        super().prepare()


def supports_tls(binaries: RedisBinaries) -> bool:
    """Does this build start with a TLS port and answer PING over TLS?"""
    server = TlsProbeServer(binaries)
    try:
        server.start()
        client = redis.Redis(
            host=LOOPBACK,
            port=server.tls_port,
            ssl=True,
            # The probe asks "does it speak TLS", not "who is it": its certificate is throwaway.
            ssl_cert_reqs="none",
            socket_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (RedisStartError, redis.RedisError, OSError):
        return False
    finally:
        server.close()  # also after a failed start, which leaves its directory behind


def tls_verdict(binaries: RedisBinaries) -> bool:
    """Does this build serve TLS? What it says first (no port, a few ms), then a real handshake,
    whose "yes" is remembered per build in the course's cache folder."""
    if not _supports_tls(binaries.server):
        return False
    remembered = cache_root() / "tls" / build_key(binaries.server)
    if remembered.is_file():
        return True
    if not supports_tls(binaries):
        return False
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        remembered.parent.mkdir(parents=True, exist_ok=True)
        partial = remembered.with_name(f".{remembered.name}.{os.getpid()}")
        partial.write_text(f"{binaries.describe()}\n")
        os.replace(partial, remembered)  # atomic: kernels started together may both write it
    return True
