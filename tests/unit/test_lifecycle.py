"""The life cycle of groups of sandbox processes, on stand-ins that record what was done to them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from course.sandbox.lifecycle import Group, close_quietly, kill_and_close


class Recorder(Group):
    what = "recorder"

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.calls: list[str] = []

    def _start_members(self) -> None:
        self.calls.append("start")
        if self.fail:
            raise OSError("a member did not start")

    def _close_members(self) -> None:
        self.calls.append("close")


class Member:
    def __init__(self, name: str, log: list[str], fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    def kill(self) -> None:
        self.log.append(f"kill {self.name}")
        if self.fails:
            raise ProcessLookupError(self.name)

    def close(self) -> None:
        self.log.append(f"close {self.name}")
        if self.fails:
            raise OSError(self.name)


def test_a_group_starts_once_and_closes_once() -> None:
    group = Recorder()
    assert group.start() is group
    assert group.start() is group
    group.close()
    group.close()
    assert group.calls == ["start", "close"]


def test_a_closed_group_refuses_to_start_and_names_its_class() -> None:
    group = Recorder()
    group.close()
    with pytest.raises(RuntimeError, match=r"This recorder was closed; create a new Recorder\."):
        group.start()
    assert group.calls == ["close"]


def test_a_failed_start_closes_the_group_and_raises_the_error() -> None:
    group = Recorder(fail=True)
    with pytest.raises(OSError, match="did not start"):
        group.start()
    assert group.calls == ["start", "close"]
    with pytest.raises(RuntimeError, match="was closed"):
        group.start()


def test_with_starts_and_closes() -> None:
    with Recorder() as group:
        assert group.calls == ["start"]
    assert group.calls == ["start", "close"]


def test_members_are_all_killed_before_any_is_closed_whatever_raises() -> None:
    log: list[str] = []
    kill_and_close([Member("a", log), Member("b", log, fails=True), Member("c", log)])
    assert log == ["kill a", "kill b", "kill c", "close a", "close b", "close c"]


def test_clients_are_closed_newest_first_whatever_raises() -> None:
    log: list[str] = []
    clients = [Member("old", log), Member("failing", log, fails=True), Member("new", log)]
    close_quietly(clients)
    assert clients == []
    assert log == ["close new", "close failing", "close old"]


def test_at_exit_open_groups_are_closed_before_single_processes() -> None:
    program = textwrap.dedent(
        """
        from course.sandbox.lifecycle import Group, Managed, close_at_exit

        class Single(Managed):
            def close(self):
                print("single closed", flush=True)

        class Pair(Group):
            def __init__(self, name):
                super().__init__()
                self.name = name

            def _start_members(self):
                pass

            def _close_members(self):
                print(f"{self.name} closed", flush=True)

        single = Single()
        close_at_exit(single)
        left_open = Pair("group").start()
        Pair("another group").start().close()  # nothing left to do at exit
        print("exiting", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["another group closed", "exiting", "group closed", "single closed"]
