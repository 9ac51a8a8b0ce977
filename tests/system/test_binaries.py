"""Finding Redis: override variable, version check, clear messages when missing or too old."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.sandbox.binaries import RedisNotFoundError, find_redis


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    find_redis.cache_clear()
    yield
    find_redis.cache_clear()


def fake_server(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "redis-server"
    script.write_text(f'#!/bin/sh\necho "Redis server v={version} sha=00000000:0 malloc=libc bits=64"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_finds_the_real_server_and_its_tools() -> None:
    binaries = find_redis()
    assert binaries.version >= (7, 0, 0)
    assert binaries.server.name == "redis-server"
    for tool in ("redis-cli", "redis-benchmark", "redis-check-aof"):
        assert binaries.tool(tool).exists()


def test_missing_redis_names_the_install_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.delenv("REDIS_COURSE_BIN_DIR", raising=False)
    monkeypatch.setattr("course.sandbox.binaries.search_dirs", lambda: [tmp_path])
    with pytest.raises(RedisNotFoundError) as raised:
        find_redis()
    message = str(raised.value)
    assert "redis-server (or valkey-server) was not found" in message
    for command in (
        "conda install -c conda-forge redis-server",
        "apt-get install redis-server",
        "brew install redis",
    ):
        assert command in message


def test_an_old_redis_is_refused_with_its_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_server(tmp_path / "old", "6.2.14")
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(tmp_path / "old"))
    with pytest.raises(RedisNotFoundError, match=r"Redis 6\.2\.14; the course needs 7\.0\.0"):
        find_redis()


def test_the_override_variable_wins_over_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = fake_server(tmp_path / "custom", "7.4.1")
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(server.parent))
    binaries = find_redis()
    assert binaries.server == server
    assert binaries.version == (7, 4, 1)


def test_require_explains_which_feature_needs_what() -> None:
    binaries = find_redis()
    with pytest.raises(RedisNotFoundError, match=r"Hash field expiry needs Redis 99\.0\.0 or newer"):
        binaries.require((99, 0, 0), "Hash field expiry")
    binaries.require((7, 0, 0), "anything in 7.0")
