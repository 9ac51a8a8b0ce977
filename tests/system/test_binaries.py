"""Finding the server (Redis or Valkey) and its tools, refusing what cannot work, and TLS for real.

Fake builds are shell scripts that print a ``--version`` line; the TLS verdict is checked on every
real build this run tests (``tests/builds.py``) against a handshake made here with ``ssl``.
"""

from __future__ import annotations

import socket
import ssl
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.sandbox.binaries import RedisBinaries, RedisNotFoundError, build_key, find_redis
from course.sandbox.ports import LOOPBACK, claim_port
from course.sandbox.servers import RedisServer, RedisStartError
from course.sandbox.tls_probe import supports_tls, tls_verdict, write_self_signed
from tests.builds import build_id, server_builds

REDIS_LINE = "Redis server v={} sha=00000000:0 malloc=libc bits=64 build=0"
VALKEY_LINE = "Valkey server v={} sha=00000000:1 malloc=libc bits=64 build=1536df31c0395150"


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    find_redis.cache_clear()
    yield
    find_redis.cache_clear()


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Aliases and TLS verdicts of this test's builds go to its own folder, not the user's cache."""
    folder = tmp_path / "cache"
    monkeypatch.setattr("course.sandbox.binaries.cache_root", lambda: folder)
    monkeypatch.setattr("course.sandbox.tls_probe.cache_root", lambda: folder)
    return folder


@pytest.fixture
def only_these_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Look only in the folders the test appends (no override, no PATH, no /usr/bin)."""
    folders: list[Path] = []
    monkeypatch.delenv("REDIS_COURSE_BIN_DIR", raising=False)
    monkeypatch.setattr("course.sandbox.binaries.search_dirs", lambda: list(folders))
    return folders


def fake_program(folder: Path, name: str, version_line: str = "") -> Path:
    """A script that prints ``version_line`` for ``--version`` and, started any other way, fails
    the way a server built without TLS does."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "{version_line}"; exit 0; fi\n'
        'echo "# Failed finding TLS support."; exit 1\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def fake_server(folder: Path, version: str, name: str = "redis-server") -> Path:
    line = (VALKEY_LINE if name.startswith("valkey") else REDIS_LINE).format(version)
    return fake_program(folder, name, line)


def test_finds_the_real_server_and_its_tools() -> None:
    binaries = find_redis()
    assert binaries.version >= (7, 0, 0)
    assert binaries.server.name in ("redis-server", "valkey-server")
    for tool in ("redis-cli", "redis-benchmark", "redis-check-aof"):
        assert binaries.tool(tool).exists()


def test_missing_redis_names_the_install_commands(only_these_folders: list[Path], tmp_path: Path) -> None:
    only_these_folders.append(tmp_path)
    with pytest.raises(RedisNotFoundError) as raised:
        find_redis()
    message = str(raised.value)
    assert "redis-server (or valkey-server) was not found" in message
    for command in (
        "conda install -c conda-forge redis-server",
        "apt-get install redis-server",
        "brew install redis",
        "dnf install valkey",
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


def test_an_override_without_a_server_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Falling back to PATH would silently test another build than the one named.
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(tmp_path))
    with pytest.raises(RedisNotFoundError, match=r"REDIS_COURSE_BIN_DIR=.* holds no redis-server"):
        find_redis()


def test_valkey_names_are_found_where_redis_names_are_absent(
    only_these_folders: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "valkey"
    server = fake_server(folder, "8.1.4", "valkey-server")
    tools = {
        name: fake_program(folder, name.replace("redis", "valkey"))
        for name in ("redis-cli", "redis-benchmark", "redis-check-aof", "redis-sentinel")
    }
    only_these_folders.append(folder)
    binaries = find_redis()
    assert (binaries.server, binaries.flavour, binaries.version) == (server, "valkey", (8, 1, 4))
    assert binaries.describe() == f"Valkey 8.1.4 ({server})"
    for name, path in tools.items():
        assert binaries.tool(name) == path
        assert binaries.same_build(name)
    assert binaries.sentinel_command() == [str(tools["redis-sentinel"])]


def test_a_valkey_server_alone_borrows_cli_tools_and_runs_itself_as_the_others(
    only_these_folders: list[Path], tmp_path: Path
) -> None:
    server = fake_server(tmp_path / "wheel", "9.1.2", "valkey-server")
    redis_cli = fake_program(tmp_path / "redis", "redis-cli")
    fake_program(tmp_path / "redis", "redis-check-aof")
    fake_program(tmp_path / "redis", "redis-sentinel")
    only_these_folders.extend([server.parent, redis_cli.parent])
    binaries = find_redis()
    assert binaries.flavour == "valkey"
    assert binaries.tool("redis-cli") == redis_cli
    assert not binaries.same_build("redis-cli")
    with pytest.raises(RedisNotFoundError, match="redis-benchmark was not found next to"):
        binaries.tool("redis-benchmark")
    # Another build's check-aof cannot read this build's files, nor is its Sentinel this version:
    # the server itself runs as them, under their Valkey names.
    for name, alias in (("redis-check-aof", "valkey-check-aof"), ("redis-sentinel", "valkey-sentinel")):
        tool = binaries.tool(name)
        assert (tool.name, tool.resolve()) == (alias, server.resolve())
        assert binaries.same_build(name)
        ran = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
        assert ran.stdout.strip() == VALKEY_LINE.format("9.1.2")
    assert binaries.sentinel_command() == [str(binaries.tool("redis-sentinel"))]


def test_redis_names_win_but_a_renamed_valkey_is_still_valkey(
    only_these_folders: list[Path], tmp_path: Path
) -> None:
    # Debian 13's valkey-redis-compat installs redis-server as another name for valkey-server.
    folder = tmp_path / "compat"
    server = fake_program(folder, "redis-server", VALKEY_LINE.format("8.1.1"))
    fake_server(folder, "8.1.1", "valkey-server")
    redis_cli, valkey_cli = fake_program(folder, "redis-cli"), fake_program(folder, "valkey-cli")
    only_these_folders.append(folder)
    binaries = find_redis()
    assert (binaries.server, binaries.flavour) == (server, "valkey")
    assert binaries.tool("redis-cli") == valkey_cli != redis_cli  # a Valkey server's own tools first


def test_require_explains_which_feature_needs_what() -> None:
    binaries = find_redis()
    with pytest.raises(RedisNotFoundError, match=r"Hash field expiry needs Redis 99\.0\.0 or newer"):
        binaries.require((99, 0, 0), "Hash field expiry")
    binaries.require((7, 0, 0), "anything in 7.0")


def test_a_build_that_refuses_a_tls_port_has_no_tls(tmp_path: Path) -> None:
    server = fake_server(tmp_path / "notls", "9.1.2", "valkey-server")
    binaries = RedisBinaries(server=server, version=(9, 1, 2), tls=True, flavour="valkey")
    assert supports_tls(binaries) is False  # the probe server exits: no handshake
    assert tls_verdict(binaries) is False  # what it says is enough


def handshake(binaries: RedisBinaries, folder: Path) -> bool:
    """Independently of the probe: start the build with a TLS port, PING over a raw ssl socket."""
    cert, key = write_self_signed(folder)
    claim = claim_port()
    config = {
        "tls-port": claim.port,
        "tls-cert-file": cert,
        "tls-key-file": key,
        "tls-ca-cert-file": cert,
        "tls-auth-clients": "no",
    }
    server = RedisServer(config, name="tls-check", binaries=binaries)
    try:
        server.start()
    except RedisStartError:
        return False
    else:
        context = ssl.create_default_context(cafile=str(cert))
        with (
            socket.create_connection((LOOPBACK, claim.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=LOOPBACK) as tls,
        ):
            tls.sendall(b"PING\r\n")
            return tls.recv(7) == b"+PONG\r\n"
    finally:
        server.close()
        claim.release()


@pytest.mark.parametrize("folder", server_builds(), ids=build_id)
def test_every_build_checks_its_aof_and_runs_sentinels_with_its_own_binary(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(folder))
    binaries = find_redis()
    assert binaries.server.parent == folder
    for name in ("redis-check-aof", "redis-sentinel"):
        assert binaries.same_build(name), f"{name} of another build: {binaries.tool(name)}"
    usage = subprocess.run([binaries.tool("redis-check-aof")], capture_output=True, text=True, check=False)
    assert "Usage:" in usage.stdout + usage.stderr


@pytest.mark.parametrize("folder", server_builds(), ids=build_id)
def test_the_tls_verdict_of_every_build_matches_a_real_handshake(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(folder))
    binaries = find_redis()
    assert binaries.server.parent == folder
    assert binaries.tls is handshake(binaries, tmp_path)


@pytest.mark.parametrize("folder", server_builds(), ids=build_id)
def test_a_yes_is_remembered_per_build_and_a_no_is_never_written_down(
    folder: Path, monkeypatch: pytest.MonkeyPatch, private_cache: Path
) -> None:
    monkeypatch.setenv("REDIS_COURSE_BIN_DIR", str(folder))
    binaries = find_redis()
    verdict = tls_verdict(binaries)
    assert verdict is binaries.tls
    remembered = private_cache / "tls" / build_key(binaries.server)
    assert remembered.is_file() is verdict
    probes: list[RedisBinaries] = []
    monkeypatch.setattr("course.sandbox.tls_probe.supports_tls", lambda b: probes.append(b) or False)
    assert tls_verdict(binaries) is verdict
    assert probes == [], "a remembered yes, or a build that says no, starts no probe server"
