"""The persistence lesson's pure helpers: AOF manifests, seeded values, torn files."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.lessons.persistence import (
    DEFAULT_SAVE_POINTS,
    ManifestEntry,
    chop,
    filesystem_from_mounts,
    read_manifest,
    values,
)


def test_default_save_points_are_redis_7s() -> None:
    assert DEFAULT_SAVE_POINTS == ((3600, 1), (300, 100), (60, 10000))


def test_read_manifest_parses_every_entry_type(tmp_path: Path) -> None:
    manifest = tmp_path / "appendonly.aof.manifest"
    manifest.write_text(
        "file appendonly.aof.3.base.rdb seq 3 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type h\n"
        'file "name with space.aof.3.incr.aof" seq 3 type i\n'
    )
    entries = read_manifest(manifest)
    assert entries == [
        ManifestEntry("appendonly.aof.3.base.rdb", 3, "b"),
        ManifestEntry("appendonly.aof.2.incr.aof", 2, "h"),
        ManifestEntry("name with space.aof.3.incr.aof", 3, "i"),
    ]
    assert [entry.kind for entry in entries] == ["base", "history", "incr"]
    assert read_manifest(tmp_path) == entries, "the directory works as well as the file"


@pytest.mark.parametrize(
    "line", ["file a.aof seq 1 type", "file a.aof seq one type i", "seq 1 type i", "file a.aof type i"]
)
def test_read_manifest_rejects_malformed_lines(tmp_path: Path, line: str) -> None:
    manifest = tmp_path / "x.manifest"
    manifest.write_text(line + "\n")
    with pytest.raises(ValueError, match="line 1"):
        read_manifest(manifest)


def test_read_manifest_needs_exactly_one_manifest_in_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path)


def test_values_are_seeded_and_sized() -> None:
    random_values = values(3, 50, compressible=False, seed=1)
    assert random_values == values(3, 50, compressible=False, seed=1)
    assert random_values != values(3, 50, compressible=False, seed=2)
    assert {len(value) for value in random_values} == {50}
    assert len(set(values(3, 50, compressible=True))) == 1


def test_chop_cuts_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert chop(path, 3) == 7
    assert path.read_bytes() == b"0123456"
    for bad in (0, 8):
        with pytest.raises(ValueError, match="cannot cut"):
            chop(path, bad)


MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
/dev/vdb /tmp/disk xfs rw 0 0
tmpfs /srv/my\\040data tmpfs rw 0 0
overlay /tmp overlay rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "ext4"),
        ("/home/ada", "ext4"),
        ("/tmp/redis-course-0/1-x", "overlay"),  # mounted over /tmp later: the later mount wins
        ("/tmp/disk/a", "xfs"),  # the deepest mount point wins
        ("/tmp/diskette", "overlay"),  # a name that only starts like a mount point is not inside it
        ("/srv/my data/f", "tmpfs"),  # escaped spaces in mount points
        ("/proc", "proc"),
    ],
)
def test_filesystem_from_mounts_picks_the_deepest_mount(path: str, expected: str) -> None:
    assert filesystem_from_mounts(Path(path), MOUNTS) == expected


def test_filesystem_from_mounts_without_a_match() -> None:
    assert filesystem_from_mounts(Path("/x"), "") == "unknown"
