"""The replication lesson's log excerpts, read from canned Redis and Sentinel logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.lessons import replication
from course.sandbox.process import SandboxProcess

LOG = """\
--- sandbox: starting redis-server on port 18226 ---
6772:M 01 Dec 2026 21:46:48.717 * Replica 127.0.0.1:18485 asks for synchronization
6772:M 01 Dec 2026 21:46:48.718 * Full resync requested by replica 127.0.0.1:18485
6772:M 01 Dec 2026 21:46:48.720 * Starting BGSAVE for SYNC with target: replicas sockets
6775:C 01 Dec 2026 21:46:48.721 * Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB
6772:X 01 Dec 2026 21:46:49.001 # +sdown master mymaster 127.0.0.1 18226
6772:S 01 Dec 2026 21:46:49.100 - Accepted 127.0.0.1:52314
"""


class CannedLog(SandboxProcess):
    """A process that never runs: only its log file exists."""

    def __init__(self, directory: Path) -> None:
        super().__init__(name="canned")
        self._dir = directory


@pytest.fixture
def process(tmp_path: Path) -> CannedLog:
    canned = CannedLog(tmp_path)
    canned.log_path.write_text(LOG)
    return canned


def test_prefixes_are_removed_and_other_lines_kept(process: CannedLog) -> None:
    messages = replication.log_since(process)
    assert messages[0] == "--- sandbox: starting redis-server on port 18226 ---"
    assert messages[1] == "Replica 127.0.0.1:18485 asks for synchronization"
    assert "+sdown master mymaster 127.0.0.1 18226" in messages
    assert messages[-1] == "Accepted 127.0.0.1:52314"


def test_words_filter_case_insensitively(process: CannedLog) -> None:
    assert replication.log_since(process, words=["SYNC"]) == [
        "Replica 127.0.0.1:18485 asks for synchronization",
        "Full resync requested by replica 127.0.0.1:18485",
        "Starting BGSAVE for SYNC with target: replicas sockets",
    ]


def test_a_mark_skips_what_was_logged_before(process: CannedLog) -> None:
    mark = replication.log_mark(process)
    assert replication.log_since(process, mark) == []
    with process.log_path.open("a") as log:
        log.write(
            "6772:M 01 Dec 2026 21:46:50.000 * Synchronization with replica 127.0.0.1:18485 succeeded\n"
        )
    assert replication.log_since(process, mark) == ["Synchronization with replica 127.0.0.1:18485 succeeded"]


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    canned = CannedLog(tmp_path / "gone")
    assert replication.log_mark(canned) == 0
    assert replication.log_since(canned) == []
