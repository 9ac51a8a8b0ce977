"""02_cluster, Part A: `key_slot` with hash tags.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("part-a")

REFLECTED_CRC = """    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
"""

KEY_SLOT_WITH_TABLE = """
_TABLE = []
for _byte in range(256):
    _crc = _byte << 8
    for _ in range(8):
        _crc = ((_crc << 1) ^ 0x1021) & 0xFFFF if _crc & 0x8000 else (_crc << 1) & 0xFFFF
    _TABLE.append(_crc)


def key_slot(key):
    raw = key if isinstance(key, bytes) else key.encode()
    _, brace, rest = raw.partition(b"{")
    tag, closing, _ = rest.partition(b"}")
    if brace and closing and tag:
        raw = tag
    crc = 0
    for byte in raw:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc & 0x3FFF
"""

KEY_SLOT_WITH_REGEX_AND_STDLIB = """
import binascii
import re as _re


def key_slot(key):
    raw = key.encode("utf-8") if isinstance(key, str) else key
    tagged = _re.match(rb"[^{]*\\{([^}]*)\\}", raw, _re.DOTALL)
    if tagged and tagged.group(1):
        raw = tagged.group(1)
    return binascii.crc_hqx(raw, 0) % 16384
"""

MUTANTS = [
    Variant("hash tags ignored", *A, replace=(('    start = data.find(b"{")\n', "    start = -1\n"),)),
    Variant(
        "CRC16 with initial value 0xFFFF (CCITT-FALSE)",
        *A,
        replace=(("    crc = 0\n", "    crc = 0xFFFF\n"),),
    ),
    Variant(
        "reflected CRC16 (ARC) instead of XMODEM",
        *A,
        replace=(
            (
                "    crc = 0\n    for byte in data:\n        crc ^= byte << 8\n        for _ in range(8):\n"
                "            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1\n"
                "        crc &= 0xFFFF\n    return crc\n",
                REFLECTED_CRC,
            ),
        ),
    ),
    Variant("modulo 16383", *A, replace=(("% 16384", "% 16383"),)),
    Variant(
        "an empty tag {} hashes the empty string", *A, replace=(("if end > start + 1:", "if end != -1:"),)
    ),
    Variant(
        "the last } closes the tag",
        *A,
        replace=(('end = data.find(b"}", start + 1)', 'end = data.rfind(b"}")'),),
    ),
    Variant(
        "the last { opens the tag", *A, replace=(('start = data.find(b"{")', 'start = data.rfind(b"{")'),)
    ),
    Variant(
        "} searched from the start of the key",
        *A,
        replace=(('end = data.find(b"}", start + 1)', 'end = data.find(b"}")'),),
    ),
    Variant(
        "bytes decoded as UTF-8 first (invalid bytes dropped)",
        *A,
        replace=(
            (
                'data = key.encode("utf-8") if isinstance(key, str) else bytes(key)',
                'data = (key if isinstance(key, str) else key.decode("utf-8", "ignore")).encode("utf-8")',
            ),
        ),
    ),
    Variant(
        "text hashed as Latin-1", *A, replace=(('key.encode("utf-8")', 'key.encode("latin-1", "replace")'),)
    ),
    Variant(
        "asks the server (CLUSTER KEYSLOT)",
        *A,
        replace=(
            (
                '    data = key.encode("utf-8")',
                '    return rc.cluster_keyslot(key)\n    data = key.encode("utf-8")',
            ),
        ),
    ),
    Variant(
        "calls redis-py's helper",
        *A,
        replace=(
            (
                "    return crc16(data) % 16384",
                "    from redis.crc import key_slot as library_slot\n\n    return library_slot(data)",
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant("key_slot with a CRC table, partition and & 0x3FFF", *A, source=KEY_SLOT_WITH_TABLE),
    Variant("key_slot with a regex and binascii.crc_hqx", *A, source=KEY_SLOT_WITH_REGEX_AND_STDLIB),
]
