"""The persistence lesson's helpers, checked against real redis-server processes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from course.lessons.persistence import (
    aof_dir,
    filesystem_of,
    fill,
    fsync_seconds,
    load_seconds,
    manifest_path,
    persistence_files,
    rdb_path,
    read_manifest,
    wait_for_background_saves,
)
from course.sandbox.servers import RedisServer


def test_paths_follow_the_servers_configuration() -> None:
    custom = RedisServer(
        {"appenddirname": "journal", "appendfilename": "orders.aof", "dbfilename": "snap.rdb"}
    )
    plain = RedisServer()
    try:
        assert aof_dir(custom) == custom.dir / "journal"
        assert manifest_path(custom) == custom.dir / "journal" / "orders.aof.manifest"
        assert rdb_path(custom) == custom.dir / "snap.rdb"
        assert aof_dir(plain) == plain.dir / "appendonlydir"
        assert manifest_path(plain).name == "appendonly.aof.manifest"
        assert rdb_path(plain) == plain.dir / "dump.rdb"
    finally:
        custom.close()
        plain.close()


def test_a_real_aof_matches_the_helpers() -> None:
    config = {"appendonly": True, "appenddirname": "journal", "appendfilename": "orders.aof"}
    with RedisServer(config) as server:
        client = server.client()
        client.set("k", "v")
        client.bgrewriteaof()
        wait_for_background_saves(client)
        entries = read_manifest(manifest_path(server))
        assert [(entry.name, entry.kind) for entry in entries] == [
            ("orders.aof.2.base.rdb", "base"),
            ("orders.aof.2.incr.aof", "incr"),
        ]
        sizes = persistence_files(server)
        assert set(sizes) == {f"journal/{entry.name}" for entry in entries} | {"journal/orders.aof.manifest"}
        assert sizes["journal/orders.aof.2.base.rdb"] > 0


def test_wait_for_background_saves_waits_for_a_slow_bgsave_and_times_out() -> None:
    with RedisServer({"rdb-key-save-delay": 300}) as server:
        client = server.client()
        fill(client, 1000, value_size=10)  # about 0.3 s to save
        client.bgsave()
        with pytest.raises(TimeoutError, match="rdb_bgsave_in_progress"):
            wait_for_background_saves(client, timeout=0.01)
        started = time.monotonic()
        info = wait_for_background_saves(client)
        assert time.monotonic() - started > 0.05
        assert info["rdb_bgsave_in_progress"] == 0
        assert info["rdb_last_bgsave_status"] == "ok"
        assert persistence_files(server) == {"dump.rdb": rdb_path(server).stat().st_size}


def test_load_seconds_reads_the_latest_start_only() -> None:
    with RedisServer({"appendonly": True}) as server:
        client = server.client()
        assert load_seconds(server) is None, "a first start creates the AOF: nothing loaded"
        fill(client, 2000)
        server.restart(hard=True)
        loaded = load_seconds(server)
        assert loaded is not None
        assert 0 <= loaded < 5
        assert client.dbsize() == 2000
    with RedisServer() as plain:
        client = plain.client()
        client.set("k", "v")
        client.save()
        plain.restart()
        assert load_seconds(plain) is not None, "an RDB file was loaded"
        plain.kill()
        rdb_path(plain).unlink()
        plain.start()
        assert load_seconds(plain) is None, "the earlier start's log line does not count"


def test_load_seconds_without_a_log() -> None:
    server = RedisServer()
    try:
        assert load_seconds(server) is None
    finally:
        server.close()


def test_fill_writes_one_key_per_value() -> None:
    with RedisServer() as server:
        client = server.client(decode_responses=False)
        assert fill(client, 2500, prefix="x:", value_size=7, batch=1000) == 2500
        assert client.dbsize() == 2500
        assert len(client.get("x:2499") or b"") == 7


def test_filesystem_and_fsync_of_a_servers_directory() -> None:
    with RedisServer() as server:
        kind = filesystem_of(server.dir)
        if sys.platform.startswith("linux"):
            assert kind != "unknown"
            mounted = Path("/proc/self/mounts").read_text().splitlines()
            assert kind in {line.split()[2] for line in mounted}
        times = fsync_seconds(server.dir, count=5)
        assert len(times) == 5
        assert all(t > 0 for t in times)
        assert not list(server.dir.glob(".fsync-probe-*")), "the scratch file is removed"
