"""05_security, Part B: a configuration audit.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("part-b")

LOOPBACK_TEST = 'return ipaddress.ip_address(address.lstrip("-")).is_loopback'
BIND_LINE = 'exposed = [address for address in config.get("bind", "").split() if not loopback(address)]'
DANGEROUS_LOOP = 'for command in (["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "SET", "maxmemory", "0"]):'
ENABLE_NAMES = '("enable-debug-command", "enable-protected-configs", "enable-module-command")'
AUTH_LINE = 'findings["auth"] = f"users who log in without a password: {\', \'.join(open_users)}" if open_users else None'

MUTANTS = [
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

ALTERNATIVES = [
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
