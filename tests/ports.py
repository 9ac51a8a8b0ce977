"""Exact blocks of ports for tests, from the end of this worker's slice (see tests/conftest.py).

No sandbox server takes a port from that spare block by itself, and no other worker's slice
overlaps it, so a block handed out here is free unless a program outside the course holds it.
"""

from __future__ import annotations

import os
import socket

import pytest

from course.sandbox.ports import LOOPBACK

_cursor = {"next": 0}


def spare_ports() -> range:
    first, last = (int(part) for part in os.environ["COURSE_TEST_SPARE_PORTS"].split("-"))
    return range(first, last + 1)


def _free(port: int) -> bool:
    """Nothing listens on ``port`` or holds it bound. Ports left in TIME_WAIT by servers that closed
    within the last minute count as free: Redis binds with SO_REUSEADDR, as this probe does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def private_block(size: int) -> range:
    """``size`` consecutive ports not handed out before in this process, each bindable now."""
    spare = spare_ports()
    while True:
        start = spare.start + _cursor["next"]
        block = range(start, start + size)
        if block.stop > spare.stop:
            raise RuntimeError(f"the spare ports {spare.start}-{spare.stop - 1} are used up")
        _cursor["next"] += size
        if all(_free(port) for port in block):
            return block


def narrow(monkeypatch: pytest.MonkeyPatch, block: range) -> None:
    """Let sandbox servers of this test use only ``block``."""
    monkeypatch.setenv("REDIS_COURSE_PORTS", f"{block.start}-{block.stop - 1}")
