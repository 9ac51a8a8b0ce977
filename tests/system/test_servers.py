"""The sandbox's guarantees, each checked against real redis-server processes."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from course.sandbox import process
from course.sandbox.leftovers import OWNER_FILE, sweep_leftovers
from course.sandbox.ports import claim_port
from course.sandbox.servers import RedisServer, RedisStartError
from course.settings import sandbox_root
from tests.ports import narrow, private_block


def listening_addresses(pid: int) -> set[str]:
    connections = psutil.Process(pid).net_connections(kind="inet")
    return {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}


def test_server_listens_on_loopback_only_with_protected_mode(server: RedisServer) -> None:
    client = server.client()
    assert client.ping() is True
    assert client.config_get("bind") == {"bind": "127.0.0.1"}
    assert client.config_get("protected-mode") == {"protected-mode": "yes"}
    assert server.pid is not None
    assert listening_addresses(server.pid) == {"127.0.0.1"}


def test_server_directory_is_private_and_absolute(server: RedisServer) -> None:
    directory = server.client().config_get("dir")["dir"]
    assert Path(directory) == server.dir
    assert server.dir.is_absolute()
    assert server.dir.parent == sandbox_root()
    assert "Ready to accept connections" in server.log_tail(50)


def _start_servers_and_report(count: int, barrier: Any, queue: Any) -> None:
    started = [RedisServer(name="race") for _ in range(count)]
    try:
        barrier.wait()
        for server in started:
            server.start()
        queue.put([(server.port, server.client().ping()) for server in started])
        barrier.wait()  # hold every port until all processes reported
    finally:
        for server in started:
            server.close()


def test_servers_started_at_once_from_several_processes_never_share_a_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 4 processes x 3 servers in a range of exactly 12 ports: only real locking makes this work.
    block = private_block(12)
    narrow(monkeypatch, block)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4, timeout=60)
    queue = context.Queue()
    workers = [context.Process(target=_start_servers_and_report, args=(3, barrier, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        reports = [queue.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    ports = [port for report in reports for port, _ in report]
    assert all(ok for report in reports for _, ok in report)
    assert sorted(ports) == list(block)


def test_a_port_someone_else_holds_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    block = private_block(2)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", block[0]))
        squatter.listen()
        narrow(monkeypatch, block)
        with RedisServer() as server:
            assert server.port == block[1]


def test_a_port_taken_between_probe_and_bind_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe says "free" but the server cannot bind: the start must move to another port.
    block = private_block(2)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", block[0]))
        squatter.listen()
        narrow(monkeypatch, block)
        monkeypatch.setattr("course.sandbox.ports._bindable", lambda port: True)
        ports_tried: list[int] = []

        def claim_squatted_first(offsets: tuple[int, ...] = ()) -> object:
            port = block[0] if not ports_tried else block[1]  # the squatted port first
            narrow(monkeypatch, range(port, port + 1))
            ports_tried.append(port)
            return claim_port(offsets)

        monkeypatch.setattr(process, "claim_port", claim_squatted_first)
        with RedisServer() as server:
            assert server.client().ping()
            assert server.port == block[1]
            assert ports_tried == [block[0], block[1]]
            assert "Address already in use" in server.log_path.read_text()


def test_bad_configuration_raises_with_the_servers_own_log_line() -> None:
    server = RedisServer({"maxmemory-policy": "sometimes"})
    with pytest.raises(RedisStartError) as raised:
        server.start()
    message = str(raised.value)
    assert "exited with code 1" in message
    assert ">>> 'maxmemory-policy sometimes'" in message
    server.close()


def test_the_sandbox_refuses_to_give_up_its_port_or_loopback() -> None:
    with pytest.raises(ValueError, match="bind"):
        RedisServer({"bind": "0.0.0.0"})


def test_stop_kill_and_close_are_idempotent(server: RedisServer) -> None:
    server.kill()
    server.kill()
    server.stop()
    assert not server.running
    directory = server.dir
    server.close()
    server.close()
    assert not directory.exists()
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


def test_graceful_stop_saves_and_kill_loses_unsaved_writes() -> None:
    with RedisServer({"save": "3600 1"}) as server:
        client = server.client()
        client.set("kept", "yes")
        server.restart()  # SIGTERM: shutdown saves because a save point is configured
        assert client.get("kept") == "yes"
        client.set("lost", "yes")
        server.restart(hard=True)  # SIGKILL: nothing saved since the last save
        assert client.get("kept") == "yes"
        assert client.get("lost") is None
        assert server.log_tail(200).count("Ready to accept connections") == 3


def test_restart_keeps_port_and_directory(server: RedisServer) -> None:
    port, directory = server.port, server.dir
    server.restart(hard=True)
    assert (server.port, server.dir) == (port, directory)
    assert server.client().ping()


def test_start_timeout_kills_the_server_and_quotes_the_log() -> None:
    server = RedisServer(start_timeout=0.5, ready_check=lambda s: False)
    with pytest.raises(RedisStartError, match="did not become ready within"):
        server.start()
    assert not server.running
    server.close()


def test_sweep_removes_directories_of_dead_owners_and_kills_their_servers() -> None:
    root = sandbox_root()
    root.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen(["true"])
    dead_started = psutil.Process(dead.pid).create_time()
    dead.wait()
    orphan_dir = root / "orphan-test"
    orphan_dir.mkdir()
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    (orphan_dir / OWNER_FILE).write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "started": dead_started,
                "server": {"pid": orphan.pid, "started": psutil.Process(orphan.pid).create_time()},
            }
        )
    )
    with RedisServer() as alive:
        removed = sweep_leftovers()
        assert alive.dir.exists(), "a live owner's directory must survive a sweep"
    assert orphan_dir not in removed  # the start of `alive` already swept it
    assert not orphan_dir.exists()
    assert orphan.wait(timeout=60) == -9


NO_RETRY = Retry(NoBackoff(), 0)  # fail at once: redis-py's default retries take seconds


def test_clients_reconnect_after_a_restart(server: RedisServer) -> None:
    client = server.client(retry=NO_RETRY)
    client.set("k", "v")
    server.kill()
    with pytest.raises(redis.ConnectionError):
        client.get("k")
    server.start()
    assert client.ping()


def test_password_protected_server_is_ready_and_requires_auth() -> None:
    with RedisServer({"requirepass": "s3cret"}) as server:
        with pytest.raises(redis.AuthenticationError):
            server.client(retry=NO_RETRY).ping()
        assert server.client(password="s3cret").ping()


def test_close_releases_the_port_for_the_next_server(monkeypatch: pytest.MonkeyPatch) -> None:
    narrow(monkeypatch, private_block(1))
    first = RedisServer().start()
    port = first.port
    first.close()
    with RedisServer() as second:
        assert second.port == port


def test_a_failed_start_can_be_fixed_and_started_again() -> None:
    server = RedisServer({"maxmemory-policy": "sometimes"})
    try:
        with pytest.raises(RedisStartError):
            server.start()
        server.config["maxmemory-policy"] = "allkeys-lru"
        server.start()
        assert server.client().config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    finally:
        server.close()


def test_config_changes_apply_at_the_next_start(server: RedisServer) -> None:
    server.stop()
    server.config["maxmemory"] = "7mb"
    server.start()
    assert server.client().config_get("maxmemory") == {"maxmemory": str(7 * 1024 * 1024)}


def test_a_sweep_never_removes_a_young_directory_whose_owner_file_is_unreadable() -> None:
    # A half-written owner file (another process mid-write) must not look like a dead owner.
    root = sandbox_root()
    root.mkdir(parents=True, exist_ok=True)
    young = root / "being-written"
    young.mkdir()
    (young / OWNER_FILE).write_text('{"pid": 12')
    try:
        sweep_leftovers()
        assert young.exists()
    finally:
        shutil.rmtree(young, ignore_errors=True)


def test_kill_and_close_take_a_running_save_child_with_the_server() -> None:
    # A BGSAVE child lives in the server's process group; it must not outlive a killed server.
    with RedisServer({"rdb-key-save-delay": 1_000_000}) as server:
        client = server.client()
        client.mset({f"k{i}": i for i in range(20)})
        client.bgsave()
        assert server.pid is not None
        parent = psutil.Process(server.pid)
        children: list[psutil.Process] = []
        deadline = time.monotonic() + 60
        while not children and time.monotonic() < deadline:
            children = parent.children()
            time.sleep(0.01)
        assert children, "BGSAVE started no child"
        server.kill()
        alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"save children outlived kill(): {alive}"
