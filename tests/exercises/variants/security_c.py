"""05_security, Part C: a mutual-TLS client that fails closed.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

C = cells("part-c")

PING_BLOCK = (
    "    try:\n"
    "        client.ping()  # the handshake, and the server's verdict on our certificate, happen here\n"
    "    except redis.ConnectionError:\n"
    "        client.close()\n"
    "        raise\n"
)

ON_FAILURE = "        client.close()\n        raise\n"

MUTANTS = [
    Variant(
        "no certificate verification", *C, replace=(('ssl_cert_reqs="required"', 'ssl_cert_reqs="none"'),)
    ),
    Variant("no hostname check", *C, replace=(("ssl_check_hostname=True", "ssl_check_hostname=False"),)),
    Variant("lazy: no round trip before returning", *C, replace=((PING_BLOCK, ""),)),
    Variant("fails open: returns the client anyway", *C, replace=((ON_FAILURE, "        pass\n"),)),
    Variant(
        "falls back to an unverified connection",
        *C,
        replace=(
            (
                ON_FAILURE,
                "        client = redis.Redis(host=host, port=port, decode_responses=True, ssl=True, "
                'ssl_cert_reqs="none", ssl_check_hostname=False, ssl_certfile=str(cert_file), '
                "ssl_keyfile=str(key_file))\n",
            ),
        ),
    ),
    Variant(
        "returns None on failure",
        *C,
        replace=((ON_FAILURE, "        client.close()\n        return None\n"),),
    ),
    Variant(
        "another error type",
        *C,
        replace=((ON_FAILURE, '        client.close()\n        raise RuntimeError("TLS failed")\n'),),
    ),
    Variant("hard-coded 127.0.0.1", *C, replace=(("host=host, port=port", 'host="127.0.0.1", port=port'),)),
    Variant(
        "no client certificate",
        *C,
        replace=(("        ssl_certfile=str(cert_file), ssl_keyfile=str(key_file),\n", ""),),
    ),
    Variant("bytes instead of str", *C, replace=(("decode_responses=True", "decode_responses=False"),)),
]

ALTERNATIVES = [
    Variant(
        "a rediss:// URL, redis-py's default retries",
        *C,
        source="""def mtls_client(host: str, port: int, *, ca_file: Path, cert_file: Path, key_file: Path) -> redis.Redis:
    client = redis.Redis.from_url(f"rediss://{host}:{port}", ssl_ca_certs=str(ca_file), ssl_certfile=str(cert_file),
                                  ssl_keyfile=str(key_file), decode_responses=True)
    client.ping()
    return client
""",
    ),
    Variant(
        "an explicit SSLConnection pool, CA as data, TLS 1.2 at least",
        *C,
        source="""import ssl

def mtls_client(host: str, port: int, *, ca_file: Path, cert_file: Path, key_file: Path) -> redis.Redis:
    pool = redis.ConnectionPool(
        connection_class=redis.SSLConnection, host=host, port=port, ssl_ca_data=Path(ca_file).read_text(),
        ssl_certfile=str(cert_file), ssl_keyfile=str(key_file), ssl_min_version=ssl.TLSVersion.TLSv1_2,
        decode_responses=True, retry=Retry(NoBackoff(), 1),
    )
    client = redis.Redis(connection_pool=pool)
    try:
        if client.execute_command("PING") is not True:
            raise redis.ConnectionError("no PONG")
    except redis.ConnectionError:
        pool.disconnect()
        raise
    return client
""",
    ),
]
