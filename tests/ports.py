"""Exact blocks of ports for tests, from the end of this worker's slice (see tests/conftest.py).

No sandbox server takes a port from that spare block by itself, and no other worker's slice
overlaps it, so a block handed out here is free unless a program outside the course holds it.
"""

from __future__ import annotations

import os

import pytest

from course.sandbox.ports import _bindable

_cursor = {"next": 0}


def spare_ports() -> range:
    first, last = (int(part) for part in os.environ["COURSE_TEST_SPARE_PORTS"].split("-"))
    return range(first, last + 1)


def private_block(size: int) -> range:
    """``size`` consecutive ports not handed out before in this process, each bindable now."""
    spare = spare_ports()
    while True:
        start = spare.start + _cursor["next"]
        block = range(start, start + size)
        if block.stop > spare.stop:
            raise RuntimeError(f"the spare ports {spare.start}-{spare.stop - 1} are used up")
        _cursor["next"] += size
        if all(_bindable(port) for port in block):
            return block


def narrow(monkeypatch: pytest.MonkeyPatch, block: range) -> None:
    """Let sandbox servers of this test use only ``block``."""
    monkeypatch.setenv("REDIS_COURSE_PORTS", f"{block.start}-{block.stop - 1}")
