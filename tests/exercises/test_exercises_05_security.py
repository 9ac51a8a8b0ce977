"""05_security: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite, Variant

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

RESET_LINE = (
    '        "reset",                               # off, no passwords, no keys, no channels, -@all\n'
)
HASH_COMMANDS = '"+hset", "+hgetall", "+hdel",'
ALL_COMMANDS = '"+hset", "+hgetall", "+hdel", "+expire", "+del", "+get", "+mget", "+publish", "+ping",'

MUTANTS_A = [
    Variant("no reset: the old user's rules survive", *A, replace=((RESET_LINE, ""),)),
    Variant(
        "resetpass only: old keys, channels and commands survive", *A, replace=(('"reset",', '"resetpass",'),)
    ),
    Variant(
        "resets keys, channels and commands but keeps old passwords",
        *A,
        replace=(('"reset",', '"resetkeys", "resetchannels", "-@all",'),),
    ),
    Variant("nopass", *A, replace=(('"on", f">{password}",', '"on", "nopass",'),)),
    Variant("user left off", *A, replace=(('"on", f">{password}",', 'f">{password}",'),)),
    Variant("prices writable (~ instead of %R~)", *A, replace=(('"%R~price:*"', '"~price:*"'),)),
    Variant("every key", *A, replace=(('"~cart:*", "%R~price:*",', '"allkeys",'),)),
    Variant("key pattern without the colon (cart*)", *A, replace=(('"~cart:*"', '"~cart*"'),)),
    Variant("every channel", *A, replace=(('"&orders"', '"allchannels"'),)),
    Variant("channel pattern orders*", *A, replace=(('"&orders"', '"&orders*"'),)),
    Variant("+@hash instead of the hash commands", *A, replace=((HASH_COMMANDS, '"+@hash",'),)),
    Variant("+@read instead of GET and MGET", *A, replace=(('"+get", "+mget",', '"+@read",'),)),
    Variant(
        "+@pubsub instead of PUBLISH (subscribing allowed)", *A, replace=(('"+publish",', '"+@pubsub",'),)
    ),
    Variant("+@keyspace instead of EXPIRE and DEL", *A, replace=(('"+expire", "+del",', '"+@keyspace",'),)),
    Variant("+@all -@dangerous", *A, replace=((ALL_COMMANDS, '"+@all", "-@dangerous",'),)),
    Variant("PING forgotten", *A, replace=(('"+publish", "+ping",', '"+publish",'),)),
    Variant(
        "also changes the default user",
        *A,
        replace=(
            (
                "    )\n    ### END SOLUTION",
                '    )\n    client.execute_command("ACL", "SETUSER", "default", "-flushall")\n',
            ),
        ),
    ),
]

ALTERNATIVES_A = [
    Variant(
        "ACL DELUSER, then a selector for the carts",
        *A,
        source="""def create_checkout_user(client: redis.Redis, username: str, password: str) -> None:
    client.acl_deluser(username)  # a new user starts with nothing: off, no keys, no channels, -@all
    client.execute_command(
        "ACL", "SETUSER", username, "on", f">{password}",
        "%R~price:*", "&orders", "+get", "+mget", "+publish", "+ping",
        "(~cart:* +hset +hgetall +hdel +expire +del)",
    )
""",
    ),
    Variant(
        "redis-py's acl_setuser",
        *A,
        source="""def create_checkout_user(client: redis.Redis, username: str, password: str) -> None:
    client.acl_setuser(
        username, enabled=True, reset=True, passwords=[f"+{password}"],
        keys=["cart:*", "%R~price:*"], channels=["orders"],
        commands=["+hset", "+hgetall", "+hdel", "+expire", "+del", "+get", "+mget", "+publish", "+ping"],
    )
""",
    ),
    Variant(
        "hashed password, rules in several calls",
        *A,
        source="""def create_checkout_user(client: redis.Redis, username: str, password: str) -> None:
    digest = hashlib.sha256(password.encode()).hexdigest()
    client.execute_command("ACL", "SETUSER", username, "reset")
    client.execute_command("ACL", "SETUSER", username, "#" + digest, "~cart:*", "%R~price:*", "&orders")
    for command in ("hset", "hgetall", "hdel", "expire", "del", "get", "mget", "publish", "ping"):
        client.execute_command("ACL", "SETUSER", username, "+" + command)
    client.execute_command("ACL", "SETUSER", username, "on")
""",
    ),
]

LOOPBACK_TEST = 'return ipaddress.ip_address(address.lstrip("-")).is_loopback'
BIND_LINE = 'exposed = [address for address in config.get("bind", "").split() if not loopback(address)]'
DANGEROUS_LOOP = 'for command in (["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "SET", "maxmemory", "0"]):'
ENABLE_NAMES = '("enable-debug-command", "enable-protected-configs", "enable-module-command")'
AUTH_LINE = 'findings["auth"] = f"users who log in without a password: {\', \'.join(open_users)}" if open_users else None'

MUTANTS_B = [
    Variant(
        "bind: optional (-) addresses ignored",
        *B,
        replace=(
            (
                BIND_LINE,
                BIND_LINE.replace("if not loopback", 'if not address.startswith("-") and not loopback'),
            ),
        ),
    ),
    Variant(
        "bind: only 127.0.0.1 and ::1 are loopback",
        *B,
        replace=((LOOPBACK_TEST, 'return address.lstrip("-") in ("127.0.0.1", "::1")'),),
    ),
    Variant(
        "protected-mode no is weak even with a password",
        *B,
        replace=(
            (
                'if config.get("protected-mode") == "no" and default_open else None',
                'if config.get("protected-mode") == "no" else None',
            ),
        ),
    ),
    Variant(
        "auth: the default user only",
        *B,
        replace=((AUTH_LINE, AUTH_LINE.replace("if open_users else", "if default_open else")),),
    ),
    Variant(
        "auth: disabled users count",
        *B,
        replace=(
            (
                'open_users = sorted(name for name in enabled if "nopass" in users[name]["flags"])',
                'open_users = sorted(name for name, user in users.items() if "nopass" in user["flags"])',
            ),
        ),
    ),
    Variant(
        "tls: a TLS port is enough, plaintext beside it ignored",
        *B,
        replace=(
            (
                'findings["tls"] = f"a plaintext port ({port}) is open beside TLS" if port else None',
                'findings["tls"] = None',
            ),
        ),
    ),
    Variant(
        "dangerous: a disabled default user counts",
        *B,
        replace=(('if "default" in enabled:', 'if "default" in users:'),),
    ),
    Variant("dangerous: FLUSHALL only", *B, replace=((DANGEROUS_LOOP, 'for command in (["FLUSHALL"],):'),)),
    Variant(
        "dangerous: any @dangerous command (KEYS too)",
        *B,
        replace=((DANGEROUS_LOOP, DANGEROUS_LOOP.replace('["FLUSHALL"],', '["FLUSHALL"], ["KEYS", "*"],')),),
    ),
    Variant(
        "dangerous: CONFIG GET counted as CONFIG SET",
        *B,
        replace=(('["CONFIG", "SET", "maxmemory", "0"]', '["CONFIG", "GET", "maxmemory"]'),),
    ),
    Variant(
        "enable-*: local counts as weak",
        *B,
        replace=(('if config.get(name) == "yes"]', 'if config.get(name) != "no"]'),),
    ),
    Variant("enable-*: the debug command only", *B, replace=((ENABLE_NAMES, '("enable-debug-command",)'),)),
    Variant(
        "persistence: an AOF alone is not enough",
        *B,
        replace=(("if no_snapshots and no_aof else None", "if no_snapshots else None"),),
    ),
    Variant(
        "persistence: save points alone are not enough",
        *B,
        replace=(("if no_snapshots and no_aof else None", "if no_aof else None"),),
    ),
    Variant("an empty reason", *B, replace=(('"maxmemory 0: memory grows without limit"', '""'),)),
    Variant(
        "a check left out",
        *B,
        replace=(
            ("    return findings\n", '    return {k: v for k, v in findings.items() if k != "enable-*"}\n'),
        ),
    ),
    Variant(
        "'fine' instead of None",
        *B,
        replace=(("    return findings\n", '    return {k: v or "fine" for k, v in findings.items()}\n'),),
    ),
    Variant(
        "the audit changes the server",
        *B,
        replace=(
            (
                "    return findings\n",
                '    client.execute_command("ACL", "SETUSER", "audit-probe", "off")\n    return findings\n',
            ),
        ),
    ),
]

ALTERNATIVES_B = [
    Variant(
        "ACL LIST parsed, settings read one by one, bind by pattern",
        *B,
        source="""import re

def audit_server(client: redis.Redis) -> dict[str, str | None]:
    def setting(name):
        return client.config_get(name).get(name, "")

    rules = {line.split()[1]: line.split()[2:] for line in client.acl_list()}
    logins = [name for name, words in rules.items() if "on" in words and "nopass" in words]
    result = {check: None for check in AUDIT_CHECKS}
    if logins:
        result["auth"] = "no password needed for " + ", ".join(logins)
    loopback = re.compile(r"^-?(127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|::1)$")
    outside = [a for a in setting("bind").split() if not loopback.match(a)]
    if outside:
        result["bind"] = "bind " + " ".join(outside)
    if setting("protected-mode") == "no" and "default" in logins:
        result["protected-mode"] = "off, and the default user has no password"
    if (setting("tls-port") or "0") == "0":
        result["tls"] = "no TLS"
    elif setting("port") != "0":
        result["tls"] = "plaintext too"
    if "on" in rules.get("default", []):
        allowed = [" ".join(c) for c in (["FLUSHDB"], ["FLUSHALL"], ["CONFIG", "SET", "appendonly", "no"])
                   if client.execute_command("ACL", "DRYRUN", "default", *c) == "OK"]
        if allowed:
            result["dangerous-commands"] = "default may " + ", ".join(allowed)
    yes = [n for n in ("enable-module-command", "enable-debug-command", "enable-protected-configs") if setting(n) == "yes"]
    if yes:
        result["enable-*"] = " ".join(yes)
    if setting("save") == "" and setting("appendonly") == "no":
        result["persistence"] = "nothing is persisted"
    if setting("maxmemory") == "0":
        result["maxmemory"] = "unbounded"
    return result
""",
    ),
]

PING_BLOCK = (
    "    try:\n"
    "        client.ping()  # the handshake, and the server's verdict on our certificate, happen here\n"
    "    except redis.ConnectionError:\n"
    "        client.close()\n"
    "        raise\n"
)
ON_FAILURE = "        client.close()\n        raise\n"

MUTANTS_C = [
    Variant(
        "no certificate verification", *C, replace=(('ssl_cert_reqs="required"', 'ssl_cert_reqs="none"'),)
    ),
    Variant("no hostname check", *C, replace=(("ssl_check_hostname=True", "ssl_check_hostname=False"),)),
    Variant("lazy: no round trip before returning", *C, replace=((PING_BLOCK, ""),)),
    Variant("fails open: returns the client anyway", *C, replace=((ON_FAILURE, "        pass\n"),)),
    Variant(
        "falls back to an unverified connection",
        *C,
        replace=(
            (
                ON_FAILURE,
                "        client = redis.Redis(host=host, port=port, decode_responses=True, ssl=True, "
                'ssl_cert_reqs="none", ssl_check_hostname=False, ssl_certfile=str(cert_file), '
                "ssl_keyfile=str(key_file))\n",
            ),
        ),
    ),
    Variant(
        "returns None on failure",
        *C,
        replace=((ON_FAILURE, "        client.close()\n        return None\n"),),
    ),
    Variant(
        "another error type",
        *C,
        replace=((ON_FAILURE, '        client.close()\n        raise RuntimeError("TLS failed")\n'),),
    ),
    Variant("hard-coded 127.0.0.1", *C, replace=(("host=host, port=port", 'host="127.0.0.1", port=port'),)),
    Variant(
        "no client certificate",
        *C,
        replace=(("        ssl_certfile=str(cert_file), ssl_keyfile=str(key_file),\n", ""),),
    ),
    Variant("bytes instead of str", *C, replace=(("decode_responses=True", "decode_responses=False"),)),
]

ALTERNATIVES_C = [
    Variant(
        "a rediss:// URL, redis-py's default retries",
        *C,
        source="""def mtls_client(host: str, port: int, *, ca_file: Path, cert_file: Path, key_file: Path) -> redis.Redis:
    client = redis.Redis.from_url(f"rediss://{host}:{port}", ssl_ca_certs=str(ca_file), ssl_certfile=str(cert_file),
                                  ssl_keyfile=str(key_file), decode_responses=True)
    client.ping()
    return client
""",
    ),
    Variant(
        "an explicit SSLConnection pool, CA as data, TLS 1.2 at least",
        *C,
        source="""import ssl

def mtls_client(host: str, port: int, *, ca_file: Path, cert_file: Path, key_file: Path) -> redis.Redis:
    pool = redis.ConnectionPool(
        connection_class=redis.SSLConnection, host=host, port=port, ssl_ca_data=Path(ca_file).read_text(),
        ssl_certfile=str(cert_file), ssl_keyfile=str(key_file), ssl_min_version=ssl.TLSVersion.TLSv1_2,
        decode_responses=True, retry=Retry(NoBackoff(), 1),
    )
    client = redis.Redis(connection_pool=pool)
    try:
        if client.execute_command("PING") is not True:
            raise redis.ConnectionError("no PONG")
    except redis.ConnectionError:
        pool.disconnect()
        raise
    return client
""",
    ),
]

MUTANTS_D = [
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

ALTERNATIVES_D = [
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


class TestSecurityExercises(ExerciseSuite):
    module = "05_security"
    mutants = MUTANTS_A + MUTANTS_B + MUTANTS_C + MUTANTS_D
    alternatives = ALTERNATIVES_A + ALTERNATIVES_B + ALTERNATIVES_C + ALTERNATIVES_D
