"""05_security, Part D: a backup-and-restore drill (hard).

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

D = cells("part-d")

MUTANTS = [
    Variant(
        "backups sorted by name (backup-9 after backup-10)",
        *D,
        replace=(("key=number, reverse=True", "key=lambda path: path.name, reverse=True"),),
    ),
    Variant("the oldest backup first", *D, replace=(("key=number, reverse=True", "key=number"),)),
    Variant(
        "no fallback past a backup that does not load",
        *D,
        replace=(
            (
                "            fresh.close()\n            continue\n",
                "            fresh.close()\n            raise\n",
            ),
        ),
    ),
    Variant(
        "the failed attempt's server is left behind",
        *D,
        replace=(("            fresh.close()\n            continue\n", "            continue\n"),),
    ),
    Variant(
        "restarts the lost server instead of a fresh one",
        *D,
        replace=(
            ('        fresh = RedisServer(dict(server.config), name="restored")', "        fresh = server"),
        ),
    ),
    Variant(
        "the fresh server ignores the lost one's configuration",
        *D,
        replace=(('RedisServer(dict(server.config), name="restored")', 'RedisServer(name="restored")'),),
    ),
    Variant(
        "always copies to dump.rdb",
        *D,
        replace=(
            ("shutil.copyfile(backup, rdb_path(fresh))", 'shutil.copyfile(backup, fresh.dir / "dump.rdb")'),
        ),
    ),
    Variant(
        "moves the backup instead of copying it",
        *D,
        replace=(("shutil.copyfile(backup, rdb_path(fresh))", "shutil.move(backup, rdb_path(fresh))"),),
    ),
    Variant(
        "RPO: missing keys only",
        *D,
        replace=(
            (
                "lost = sum(truth.get(key) != restored.get(key) for key in truth.keys() | restored.keys())",
                "lost = sum(key not in restored for key in truth)",
            ),
        ),
    ),
    Variant(
        "RPO: deleted keys that came back are not counted",
        *D,
        replace=(("for key in truth.keys() | restored.keys())", "for key in truth)"),),
    ),
    Variant(
        "RPO: difference of key counts",
        *D,
        replace=(
            (
                "lost = sum(truth.get(key) != restored.get(key) for key in truth.keys() | restored.keys())",
                "lost = len(truth) - len(restored)",
            ),
        ),
    ),
    Variant(
        "RPO: sets compared by DUMP payload",
        *D,
        replace=(('"set": lambda c, k: c.smembers(k),', '"set": lambda c, k: c.dump(k),'),),
    ),
    Variant(
        "RPO: sorted sets without their scores",
        *D,
        replace=(("lambda c, k: c.zrange(k, 0, -1, withscores=True)", "lambda c, k: c.zrange(k, 0, -1)"),),
    ),
    Variant(
        "RTO clock starts once the fresh server is up",
        *D,
        replace=(
            (
                "        restored = record(fresh.client())\n",
                "        failed_at = time.monotonic()\n        restored = record(fresh.client())\n",
            ),
        ),
    ),
    Variant(
        "RTO in milliseconds",
        *D,
        replace=(
            (
                '"rto_seconds": time.monotonic() - failed_at',
                '"rto_seconds": (time.monotonic() - failed_at) * 1000',
            ),
        ),
    ),
    Variant(
        "no disaster: the server is never killed", *D, replace=(("    server.kill()  # the disaster\n", ""),)
    ),
    Variant(
        "ValueError on an empty folder",
        *D,
        replace=(
            (
                '    raise RuntimeError(f"no backup in {backup_dir} could be restored")',
                '    raise ValueError("no backup")',
            ),
        ),
    ),
]

ALTERNATIVES = [
    Variant(
        "one key at a time, a regex for the numbers, perf_counter",
        *D,
        source="""import re

def restore_drill(server: RedisServer, backup_dir: Path) -> tuple[RedisServer, dict]:
    def value(client, key):
        kind = client.type(key)
        if kind == "string":
            return kind, client.get(key)
        if kind == "list":
            return kind, client.lrange(key, 0, -1)
        if kind == "hash":
            return kind, client.hgetall(key)
        if kind == "set":
            return kind, sorted(client.smembers(key))
        return kind, client.zrange(key, 0, -1, withscores=True)

    def snapshot(client):
        return {key: value(client, key) for key in client.scan_iter()}

    before = snapshot(server.client())
    server.kill()
    started = time.perf_counter()
    numbered = []
    for path in Path(backup_dir).iterdir():
        match = re.fullmatch(r"backup-(\\d+)\\.rdb", path.name)
        if match:
            numbered.append((int(match.group(1)), path))
    for _, path in sorted(numbered, reverse=True):
        candidate = RedisServer({**server.config}, name="drill")
        shutil.copy(path, rdb_path(candidate))
        try:
            candidate.start()
        except RedisStartError:
            candidate.close()
            continue
        after = snapshot(candidate.client())
        changed = [key for key in set(before) | set(after) if before.get(key) != after.get(key)]
        elapsed = time.perf_counter() - started
        return candidate, {"rto_seconds": elapsed, "rpo_writes": len(changed), "backup": str(path)}
    raise RuntimeError("the drill failed: no backup loads")
""",
    ),
]
