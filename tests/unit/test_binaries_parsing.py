"""Reading a server's version and flavour, and what a found build offers, from canned inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.sandbox.binaries import (
    RedisBinaries,
    RedisNotFoundError,
    _tool_names,
    parse_flavour,
    parse_version,
)


@pytest.mark.parametrize(
    ("line", "version", "flavour"),
    [
        (
            "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c9",
            (7, 0, 15),
            "redis",
        ),
        (
            "Redis server v=7.2.4 sha=00000000:0 malloc=libc bits=64 build=2c6d3a5c3a0fbc2f",
            (7, 2, 4),
            "redis",
        ),
        ("Redis server v=8.2.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1a2b", (8, 2, 1), "redis"),
        (
            "Valkey server v=8.0.2 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=9f8e",
            (8, 0, 2),
            "valkey",
        ),
        (
            "Valkey server v=9.1.2 sha=00000000:1 malloc=libc bits=64 build=1536df31c0395150",
            (9, 1, 2),
            "valkey",
        ),
    ],
)
def test_version_and_flavour_of_each_supported_server(
    line: str, version: tuple[int, int, int], flavour: str
) -> None:
    assert parse_version(line) == version
    assert parse_flavour(line) == flavour


def test_a_line_without_a_version_is_refused() -> None:
    with pytest.raises(RedisNotFoundError, match="Cannot read a version"):
        parse_version("not redis")


def test_a_valkey_server_looks_for_its_own_tool_names_first() -> None:
    assert _tool_names("redis-cli", "redis") == ("redis-cli", "valkey-cli")
    assert _tool_names("redis-cli", "valkey") == ("valkey-cli", "redis-cli")


def binaries(flavour: str = "redis", version: tuple[int, int, int] = (7, 0, 15)) -> RedisBinaries:
    return RedisBinaries(
        server=Path("/opt/build/bin/redis-server"),
        version=version,
        flavour="valkey" if flavour == "valkey" else "redis",
        tools={
            "redis-cli": Path("/opt/build/bin/redis-cli"),
            "redis-sentinel": Path("/usr/bin/redis-sentinel"),
        },
    )


def test_tools_beside_the_server_and_from_elsewhere() -> None:
    found = binaries()
    assert found.same_build("redis-cli")
    assert not found.same_build("redis-sentinel")
    assert not found.same_build("redis-benchmark")
    assert found.sentinel_command() == ["/opt/build/bin/redis-server", "--sentinel"]


def test_gates_by_version_and_flavour() -> None:
    valkey = binaries("valkey", (9, 1, 2))
    assert valkey.at_least((7, 4, 0))
    assert not valkey.at_least((7, 4, 0), "redis")
    with pytest.raises(
        RedisNotFoundError, match=r"client-side caching needs Redis 7\.4\.0 or newer; .*Valkey 9\.1\.2"
    ):
        valkey.require((7, 4, 0), "client-side caching", "redis")
    valkey.require((8, 0, 0), "anything in Valkey 8", "valkey")
