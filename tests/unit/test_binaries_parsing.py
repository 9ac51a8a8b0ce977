"""Reading a server's version and flavour from its --version line."""

from __future__ import annotations

import pytest

from course.sandbox.binaries import RedisNotFoundError, parse_flavour, parse_version


def test_parse_version() -> None:
    assert parse_version("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0") == (7, 0, 15)
    with pytest.raises(RedisNotFoundError):
        parse_version("not redis")


def test_parse_version_of_valkey_and_flavour() -> None:
    line = "Valkey server v=9.1.2 sha=00000000:1 malloc=libc bits=64 build=1536df31c0395150"
    assert parse_version(line) == (9, 1, 2)
    assert parse_flavour(line) == "valkey"
    assert parse_flavour("Redis server v=8.2.1 sha=00000000:0 malloc=jemalloc-5.3.0") == "redis"
