"""05_security, Part A: a least-privilege user for a checkout service.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("part-a")

RESET_LINE = (
    '        "reset",                               # off, no passwords, no keys, no channels, -@all\n'
)

HASH_COMMANDS = '"+hset", "+hgetall", "+hdel",'
ALL_COMMANDS = '"+hset", "+hgetall", "+hdel", "+expire", "+del", "+get", "+mget", "+publish", "+ping",'

MUTANTS = [
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

ALTERNATIVES = [
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
