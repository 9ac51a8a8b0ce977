"""Sandbox-level helpers of the security lesson: raw replies, the monitoring user, backups."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.lessons.backups import BackupError, BackupSchedule, fetch_rdb, verify_backup
from course.lessons.persistence import chop
from course.lessons.security import create_monitoring_user, raw_command, raw_replies, round_trips
from course.sandbox.binaries import find_redis
from course.sandbox.servers import RedisServer, start_server
from course.settings import sandbox_root

NO_RETRY = Retry(NoBackoff(), 0)
FAST_SYNC = {"repl-diskless-sync-delay": 0}


def sandbox_dirs() -> set[Path]:
    return {path for path in sandbox_root().iterdir() if path.is_dir() and path.name != "ports"}


def test_raw_replies_show_the_servers_own_words(server: RedisServer) -> None:
    assert raw_command(server.port, "PING") == "+PONG"
    server.client().config_set("requirepass", "pw")
    assert raw_replies(server.port, ["PING"], ["AUTH", "guess"], ["AUTH", "pw"], ["PING"]) == [
        "-NOAUTH Authentication required.",
        "-WRONGPASS invalid username-password pair or user is disabled.",
        "+OK",
        "+PONG",
    ]


@pytest.mark.skipif(find_redis().flavour != "redis", reason="Valkey counts all of 127.0.0.0/8 as local")
def test_protected_mode_denies_a_client_from_127_0_0_2(server: RedisServer) -> None:
    replies = raw_replies(server.port, ["PING"], ["PING"], source="127.0.0.2")
    assert replies[0].startswith("-DENIED Redis is running in protected mode")
    assert replies[1] == "(connection closed)"
    assert raw_command(server.port, "PING", source="127.0.0.1") == "+PONG"
    server.client().config_set("requirepass", "pw")
    assert raw_command(server.port, "PING", source="127.0.0.2").startswith("-NOAUTH")


def test_the_monitoring_user_reads_state_and_nothing_else(server: RedisServer) -> None:
    create_monitoring_user(server.client(), "metrics", "pw")
    metrics = server.client(username="metrics", password="pw", protocol=2, retry=NO_RETRY)
    assert metrics.info("stats")["total_connections_received"] >= 1
    assert metrics.config_get("maxmemory") == {"maxmemory": "0"}
    assert metrics.slowlog_get(1) is not None
    assert metrics.client_list()
    for forbidden in (
        lambda: metrics.get("k"),
        lambda: metrics.config_set("maxmemory", "1mb"),
        metrics.flushall,
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            forbidden()
    create_monitoring_user(server.client(), "metrics", "new")  # a second call resets the password
    with pytest.raises(redis.AuthenticationError):
        server.client(username="metrics", password="pw", protocol=2, retry=NO_RETRY).ping()


def test_round_trips_are_timed_one_by_one_or_per_batch(server: RedisServer) -> None:
    single = round_trips(server.client(), count=20)
    batches = round_trips(server.client(), count=5, batch=50)
    assert len(single) == 20
    assert len(batches) == 5
    assert min(single + batches) > 0
    assert server.client().get("tls:probe") == "x" * 64


def test_fetch_and_verify_a_backup(tmp_path: Path) -> None:
    with start_server({**FAST_SYNC, "requirepass": "pw"}) as source:
        source.client(password="pw").mset({f"k{n}": n for n in range(100)})
        path = fetch_rdb(source, tmp_path / "backup-1.rdb", password="pw")
        assert path == tmp_path / "backup-1.rdb"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-1.rdb"]
        assert verify_backup(path) == 100
        with pytest.raises(BackupError):
            fetch_rdb(source, tmp_path / "backup-2.rdb", password="wrong")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-1.rdb"], "no partial file is left"


def test_a_torn_backup_does_not_verify_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with start_server(FAST_SYNC) as source:
        source.client().mset({f"k{n}": "v" * 100 for n in range(500)})
        path = fetch_rdb(source, tmp_path / "backup-1.rdb")
    chop(path, 50)
    before = sandbox_dirs()
    with pytest.raises(BackupError, match="does not load"):
        verify_backup(path)
    assert sandbox_dirs() == before


def test_the_schedule_keeps_the_newest_verified_backups(tmp_path: Path) -> None:
    with start_server(FAST_SYNC) as source:
        client = source.client()
        schedule = BackupSchedule(source, tmp_path / "backups", keep=2)
        taken = []
        for n in range(3):
            client.set(f"k{n}", n)
            taken.append(schedule.take())
        assert [b.number for b in schedule.backups] == [2, 3]
        assert [b.keys for b in taken] == [1, 2, 3]
        assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["backup-2.rdb", "backup-3.rdb"]
        with BackupSchedule(source, tmp_path / "timed", every=0.05, keep=3) as timed:
            assert_eventually(lambda: len(timed.backups) == 3 and timed.backups[0].number > 1)
        count = len(timed.backups)
        assert all(b.path.exists() for b in timed.backups)
        assert count == 3
        with pytest.raises(ValueError, match="keep at least one"):
            BackupSchedule(source, tmp_path / "none", keep=0)


def test_a_schedule_records_failures_and_keeps_running(tmp_path: Path) -> None:
    source = start_server(FAST_SYNC)
    schedule = BackupSchedule(source, tmp_path / "backups", every=0.05).start()
    source.close()
    try:
        assert_eventually(lambda: len(schedule.errors) >= 2)
    finally:
        schedule.close()
    assert schedule.backups == []
    assert not list((tmp_path / "backups").iterdir())


def assert_eventually(predicate: object, timeout: float = 20.0) -> None:
    from course.checks import wait_until

    assert wait_until(predicate, timeout=timeout)  # type: ignore[arg-type]
