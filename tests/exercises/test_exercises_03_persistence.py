"""03_persistence: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.sandbox.binaries import find_redis
from tests.exercises.exercise_runner import (
    ExerciseKernel,
    ExerciseNotebook,
    ExerciseSuite,
    Variant,
    check_mutant,
)
from tests.kernel import Kernel

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

MUTANTS = [
    # Part A: save points
    Variant(
        "snapshot after exactly `seconds` (>= instead of >)",
        *A,
        replace=(("seconds_since_save > seconds", "seconds_since_save >= seconds"),),
    ),
    Variant(
        "needs more than `changes` (> instead of >=)",
        *A,
        replace=(("changes >= needed", "changes > needed"),),
    ),
    Variant("every save point must hold", *A, replace=(("return any(changes", "return all(changes"),)),
    Variant(
        'save "" ignored instead of clearing',
        *A,
        replace=(("            points = []\n            continue\n", "            continue\n"),),
    ),
    Variant(
        "each save line replaces the previous ones",
        *A,
        replace=(("points = (points or []) + pairs", "points = pairs"),),
    ),
    Variant(
        "only the first pair of a line",
        *A,
        replace=(("pairs = list(zip(numbers[::2], numbers[1::2]))", "pairs = [(numbers[0], numbers[1])]"),),
    ),
    Variant(
        "no default when the file has no save line",
        *A,
        replace=(("return list(DEFAULT_SAVE_POINTS) if points is None else points", "return points or []"),),
    ),
    Variant(
        "commented-out save lines are read",
        *A,
        replace=(
            (
                'if not words or words[0].startswith("#") or words[0].lower() != "save":',
                'if not words or words[0].lower().lstrip("#") != "save":',
            ),
        ),
    ),
    Variant(
        "any directive containing 'save'",
        *A,
        replace=(('words[0].lower() != "save"', '"save" not in words[0].lower()'),),
    ),
    Variant(
        "case-sensitive directive name", *A, replace=(('words[0].lower() != "save"', 'words[0] != "save"'),)
    ),
    Variant(
        "values Redis rejects are accepted",
        *A,
        replace=(
            (
                "        if any(seconds < 1 or changes < 0 for seconds, changes in pairs):\n"
                '            raise ValueError(f"seconds must be >= 1 and changes >= 0: {line!r}")\n',
                "",
            ),
        ),
    ),
    # Part B: writes lost in a crash
    Variant(
        "graceful stop instead of kill -9 (the shutdown saves)",
        *B,
        replace=(("    server.kill()  # kill -9", "    server.stop()  # SIGTERM"),),
    ),
    Variant(
        "recovered = DBSIZE",
        *B,
        replace=(("recovered = sum(pipe.execute())", "recovered = server.client().dbsize()"),),
    ),
    Variant(
        "FLUSHALL before measuring",
        *B,
        replace=(("    acknowledged = 0\n\n", "    server.client().flushall()\n    acknowledged = 0\n\n"),),
    ),
    Variant(
        "hard-coded prefix",
        *B,
        replace=(
            (
                'client.set(f"{prefix}{acknowledged}", acknowledged)',
                'client.set(f"crash:{acknowledged}", acknowledged)',
            ),
            ('pipe.exists(f"{prefix}{n}")', 'pipe.exists(f"crash:{n}")'),
        ),
    ),
    Variant(
        "writes a constant instead of n",
        *B,
        replace=(
            (
                'client.set(f"{prefix}{acknowledged}", acknowledged)',
                'client.set(f"{prefix}{acknowledged}", "x")',
            ),
        ),
    ),
    Variant(
        "writes for a twentieth of `seconds`",
        *B,
        replace=(("    time.sleep(seconds)\n", "    time.sleep(seconds / 20)\n"),),
    ),
    Variant(
        "lost with the wrong sign",
        *B,
        replace=(('"lost": acknowledged - recovered', '"lost": recovered - acknowledged'),),
    ),
    # Part C: backup, restore, same_data
    Variant(
        "copies the RDB file while BGSAVE still runs",
        *C,
        replace=(
            (
                "    info = wait_for_background_saves(client)  # BGSAVE forks",
                '    info = client.info("persistence")  # BGSAVE forks',
            ),
        ),
    ),
    Variant(
        "joins a BGSAVE already running instead of starting its own",
        *C,
        replace=(
            (
                "    for attempt in range(10):\n"
                "        # A save already running may predate the caller's latest writes: let it end, start our own.\n"
                "        wait_for_background_saves(client)\n"
                "        try:\n"
                "            client.bgsave()\n"
                "            break\n"
                "        except redis.ResponseError:  # another child started in between: wait for it, try again\n"
                "            if attempt == 9:\n"
                "                raise\n",
                "    try:\n        client.bgsave()\n    except redis.ResponseError:\n        pass  # one is running: use it\n",
            ),
        ),
    ),
    Variant(
        "SAVE instead of BGSAVE",
        *C,
        replace=(("            client.bgsave()\n", "            client.save()\n"),),
    ),
    Variant(
        "assumes dump.rdb",
        *C,
        replace=(('client.config_get("dbfilename")["dbfilename"]', '"dump.rdb"'),),
    ),
    Variant(
        "every backup under the same name",
        *C,
        replace=(
            (
                '    number = 0\n    while (target := backup_dir / f"backup-{number:04d}.rdb").exists():\n        number += 1\n',
                '    target = backup_dir / "backup.rdb"\n',
            ),
        ),
    ),
    Variant(
        "restore starts with appendonly yes next to dump.rdb",
        *C,
        replace=(
            (
                'restored = RedisServer({**config, "appendonly": False}, name="restore")',
                'restored = RedisServer(config, name="restore")',
            ),
        ),
    ),
    Variant(
        "restore returns before the AOF rewrite has finished",
        *C,
        replace=(
            (
                "            info = wait_for_background_saves(client)  # ...which exists",
                '            info = client.info("persistence")  # ...which exists',
            ),
        ),
    ),
    Variant(
        "restore forgets the requested configuration for later restarts",
        *C,
        replace=(("        restored.config.update(config)  # every later", "        pass  # every later"),),
    ),
    Variant(
        "restore copies to dump.rdb whatever dbfilename says",
        *C,
        replace=(
            (
                "shutil.copy2(backup_file, rdb_path(restored))",
                'shutil.copy2(backup_file, restored.dir / "dump.rdb")',
            ),
        ),
    ),
    Variant(
        "same_data compares DBSIZE only",
        *C,
        replace=(
            (
                "    return a.dbsize() == b.dbsize() and contents(a) == contents(b)",
                "    return a.dbsize() == b.dbsize()",
            ),
        ),
    ),
    Variant(
        "same_data compares key names only",
        *C,
        replace=(
            (
                "    return a.dbsize() == b.dbsize() and contents(a) == contents(b)",
                "    return set(contents(a)) == set(contents(b))",
            ),
        ),
    ),
    Variant(
        "same_data compares DUMP payloads (encodings differ after a load)",
        *C,
        replace=(
            (
                "    return a.dbsize() == b.dbsize() and contents(a) == contents(b)",
                "    keys = sorted(a.scan_iter(count=1000))\n"
                "    return keys == sorted(b.scan_iter(count=1000)) and all(a.dump(k) == b.dump(k) for k in keys)",
            ),
        ),
    ),
    Variant(
        "same_data ignores list order",
        *C,
        replace=(
            ('"list": lambda c, k: c.lrange(k, 0, -1),', '"list": lambda c, k: sorted(c.lrange(k, 0, -1)),'),
        ),
    ),
    Variant(
        "same_data ignores sorted-set scores",
        *C,
        replace=(
            (
                '"zset": lambda c, k: c.zrange(k, 0, -1, withscores=True),',
                '"zset": lambda c, k: c.zrange(k, 0, -1),',
            ),
        ),
    ),
    Variant(
        "same_data reads only the first SCAN page",
        *C,
        replace=(("for key in client.scan_iter(count=1000):", "for key in client.scan(0)[1]:"),),
    ),
    # Part D: repair a torn AOF
    Variant(
        "newest increment by sorting file names",
        *D,
        replace=(
            (
                '    increments = [entry for entry in read_manifest(manifest_path(server)) if entry.kind == "incr"]\n'
                "    current = max(increments, key=lambda entry: entry.seq)\n",
                '    current = sorted(aof_dir(server).glob("*.incr.aof"))[-1]\n',
            ),
        ),
    ),
    Variant(
        "the largest file of the AOF directory",
        *D,
        replace=(
            (
                '    increments = [entry for entry in read_manifest(manifest_path(server)) if entry.kind == "incr"]\n'
                "    current = max(increments, key=lambda entry: entry.seq)\n",
                "    current = max(aof_dir(server).iterdir(), key=lambda p: p.stat().st_size)\n",
            ),
        ),
    ),
    Variant("the base file", *D, replace=(('if entry.kind == "incr"]', 'if entry.kind == "base"]'),)),
    Variant(
        "default AOF names assumed",
        *D,
        replace=(
            (
                "read_manifest(manifest_path(server))",
                'read_manifest(server.dir / "appendonlydir" / "appendonly.aof.manifest")',
            ),
            ("path = aof_dir(server) / current.name", 'path = server.dir / "appendonlydir" / current.name'),
        ),
    ),
    Variant(
        "loads with aof-load-truncated yes instead of repairing",
        *D,
        replace=(
            (
                '    result = subprocess.run([str(check_aof), "--fix", str(path)], input="y\\n", capture_output=True,\n'
                "                            text=True, timeout=60)\n"
                "    if result.returncode != 0:\n"
                '        raise RuntimeError(f"redis-check-aof could not fix {current.name}:\\n{result.stdout}{result.stderr}")\n'
                "    removed = size - path.stat().st_size\n"
                "    server.start()\n",
                '    server.config["aof-load-truncated"] = True\n'
                "    server.start()\n"
                "    removed = size - path.stat().st_size\n",
            ),
        ),
    ),
    Variant(
        "bytes_removed is the new size",
        *D,
        replace=(("    removed = size - path.stat().st_size\n", "    removed = path.stat().st_size\n"),),
    ),
]

SAVE_POINTS_WITH_A_REGEX = r"""
import re as _re

def parse_save_points(conf_text):
    points = None
    for raw in conf_text.splitlines():
        match = _re.match(r"\s*save\s+(.*?)\s*$", raw, _re.IGNORECASE)
        if not match:
            continue
        args = match.group(1).split()
        if args == ['""']:
            points = []
            continue
        if len(args) % 2 or not all(_re.fullmatch(r"-?\d+", a) for a in args):
            raise ValueError(raw)
        for i in range(0, len(args), 2):
            seconds, changes = int(args[i]), int(args[i + 1])
            if seconds <= 0 or changes < 0:
                raise ValueError(raw)
            points = (points if points is not None else []) + [(seconds, changes)]
    return [(3600, 1), (300, 100), (60, 10000)] if points is None else points

def snapshot_due(save_points, seconds_since_save, changes):
    for seconds, needed in save_points:
        if seconds_since_save >= seconds + 1 and changes - needed >= 0:
            return True
    return False
"""

SEQUENTIAL_CRASH_MEASUREMENT = """
def measure_crash_loss(server, seconds=0.3, prefix="crash:"):
    client = server.client(retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + seconds
    written = 0
    while time.monotonic() < deadline:
        client.set(prefix + str(written), written)
        written += 1
    server.restart(hard=True)  # kill -9, then start on the same files
    found = server.client().mget([prefix + str(n) for n in range(written)]) if written else []
    recovered = sum(value is not None for value in found)
    return {"acknowledged": written, "recovered": recovered, "lost": written - recovered}
"""

BACKUP_WITH_A_HAND_MADE_AOF = """
import uuid as _uuid

def backup(client, backup_dir):
    def busy():
        info = client.info("persistence")
        return info["rdb_bgsave_in_progress"] or info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]

    while True:
        while busy():
            time.sleep(0.005)
        try:
            client.bgsave()
            break
        except redis.ResponseError:
            continue
    while client.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.005)
    if client.info("persistence")["rdb_last_bgsave_status"] != "ok":
        raise RuntimeError("BGSAVE failed")
    source = Path(client.config_get("dir")["dir"], client.config_get("dbfilename")["dbfilename"])
    target = Path(backup_dir) / f"{time.strftime('%Y%m%dT%H%M%S')}-{_uuid.uuid4().hex}.rdb"
    shutil.copyfile(source, target)
    return target

def restore(backup_file, config=None):
    config = dict(config or {})
    server = RedisServer(config, name="restore-alt")
    if str(config.get("appendonly", "no")).lower() in ("yes", "true"):
        # Redis 7 loads an AOF whose base is an RDB file: build that directory around the backup.
        directory = server.dir / str(config.get("appenddirname", "appendonlydir"))
        directory.mkdir()
        prefix = str(config.get("appendfilename", "appendonly.aof"))
        shutil.copyfile(backup_file, directory / f"{prefix}.1.base.rdb")
        (directory / f"{prefix}.1.incr.aof").touch()
        (directory / f"{prefix}.manifest").write_text(
            f"file {prefix}.1.base.rdb seq 1 type b\\nfile {prefix}.1.incr.aof seq 1 type i\\n")
    else:
        shutil.copyfile(backup_file, server.dir / str(config.get("dbfilename", "dump.rdb")))
    return server.start()

def same_data(a, b):
    keys = set(a.scan_iter())
    if keys != set(b.scan_iter()):
        return False
    for key in keys:
        kind = a.type(key)
        if kind != b.type(key):
            return False
        if kind == "string":
            same = a.get(key) == b.get(key)
        elif kind == "list":
            same = a.lrange(key, 0, -1) == b.lrange(key, 0, -1)
        elif kind == "hash":
            same = a.hgetall(key) == b.hgetall(key)
        elif kind == "set":
            same = a.smembers(key) == b.smembers(key)
        elif kind == "zset":
            same = dict(a.zscan_iter(key)) == dict(b.zscan_iter(key))
        else:
            raise ValueError(f"unsupported type {kind}")
        if not same:
            return False
    return True
"""

REPAIR_THROUGH_THE_MANIFEST = """
def repair_aof(server):
    before = {path.name: path.stat().st_size for path in aof_dir(server).iterdir()}
    tool = str(server.binaries.tool("redis-check-aof"))
    report = subprocess.run([tool, "--fix", str(manifest_path(server))], input="y\\n",
                            capture_output=True, text=True, check=True).stdout
    name = Path(re.search(r"Successfully truncated AOF (\\S+)", report).group(1)).name
    removed = before[name] - (aof_dir(server) / name).stat().st_size
    server.start()
    return {"file": name, "bytes_removed": removed, "keys": server.client().dbsize()}
"""

ALTERNATIVES = [
    Variant("save points with a regular expression", *A, source=SAVE_POINTS_WITH_A_REGEX),
    Variant("sequential writes, restart(hard=True), MGET", *B, source=SEQUENTIAL_CRASH_MEASUREMENT),
    Variant(
        "busy-wait backup, hand-made AOF restore, per-type compare", *C, source=BACKUP_WITH_A_HAND_MADE_AOF
    ),
    Variant(
        "redis-check-aof on the manifest, file name from its report", *D, source=REPAIR_THROUGH_THE_MANIFEST
    ),
]


class TestPersistenceExercises(ExerciseSuite):
    module = "03_persistence"
    mutants = MUTANTS
    alternatives = ALTERNATIVES


# -- Part B on a slow disk ----------------------------------------------------------------------
# Part B's bound on acknowledged writes is derived from the disk's own pace. To prove that it holds
# where an fsync is slow, the servers run under strace, which delays every fdatasync by 10 ms.

SLOW_FSYNC_MS = 10

SLOW_DISK_CHECK = f"""
with start_server({{"appendonly": True, "appendfsync": "always"}}) as s:
    c = s.client()
    c.ping()
    started = time.perf_counter()
    for n in range(10):
        c.set(f"k{{n}}", n)
    per_write = (time.perf_counter() - started) / 10
assert per_write >= {SLOW_FSYNC_MS * 0.8} / 1000, f"the emulated disk is not slow: {{per_write * 1000:.2f}} ms per write"
print(f"{{per_write * 1000:.1f}} ms per write")
"""


@pytest.fixture(scope="module")
def slow_disk_bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose server is the real one started under strace with a slow fdatasync."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is needed to emulate a slow disk")
    server = find_redis().server
    folder = tmp_path_factory.mktemp("slow-disk")
    wrapper = folder / server.name
    # -D: the server keeps the pid the sandbox started (and its parent-death signal); strace traces
    # it from a grandchild and exits with it.
    wrapper.write_text(
        f"#!/bin/sh\nexec {strace} -D -f -qq -o /dev/null -e trace=fdatasync "
        f'-e inject=fdatasync:delay_exit={SLOW_FSYNC_MS * 1000} {server} "$@"\n'
    )
    wrapper.chmod(0o755)
    probe = subprocess.run(
        [str(wrapper), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0 or "v=" not in probe.stdout:
        pytest.skip(f"strace cannot trace the server here: {probe.stderr.strip()}")
    return folder


class TestPartBOnASlowDisk:
    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, slow_disk_bin_dir: Path) -> Iterator[ExerciseKernel]:
        notebook = ExerciseNotebook.load("03_persistence")
        env = {"NBGRADER_EXECUTION": "autograde", "REDIS_COURSE_BIN_DIR": str(slow_disk_bin_dir)}
        with Kernel(env=env, cwd=str(notebook.folder)) as kernel:
            for cell_id in [*notebook.setup, B[0]]:
                ok, text = kernel.run(notebook.cells[cell_id])
                assert ok, f"{cell_id} failed:\n{text}"
            yield ExerciseKernel(notebook, kernel)

    @pytest.mark.slow
    def test_the_emulated_disk_is_slow(self, runner: ExerciseKernel) -> None:
        ok, output = runner.run_cell("slow-disk-check", SLOW_DISK_CHECK)
        assert ok, output

    @pytest.mark.slow
    def test_reference_solution_passes(self, runner: ExerciseKernel) -> None:
        ok, output = runner.run_cell(B[1])
        assert ok, output

    @pytest.mark.slow
    def test_a_writer_stopped_early_still_fails(self, runner: ExerciseKernel) -> None:
        (short,) = [variant for variant in MUTANTS if variant.name == "writes for a twentieth of `seconds`"]
        check_mutant(runner, short)
