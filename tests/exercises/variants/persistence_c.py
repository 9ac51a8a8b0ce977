"""03_persistence, Part C: back up a live server, restore it into a new one, verify.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

C = cells("part-c")

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

MUTANTS = [
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
]

ALTERNATIVES = [
    Variant(
        "busy-wait backup, hand-made AOF restore, per-type compare", *C, source=BACKUP_WITH_A_HAND_MADE_AOF
    ),
]
