"""02_cluster: the hidden tests reject plausible wrong answers and accept other correct ones.

Parts C and D start their own clusters, so each of their variants costs a few seconds.
Part C's hidden tests freeze one node (SIGSTOP) through a second failover, so an answer that
returns before *every* node agrees fails every time, even though the other nodes learn of a new
master within milliseconds. One wrong answer is deliberately missing because no behaviour test can
tell it apart from a correct one: Part D sending MIGRATING before IMPORTING (a race of one round
trip).
"""

from __future__ import annotations

from tests.exercises.exercise_runner import (
    ExerciseSuite,
    Variant,
)

A, B, C, D = (
    ("part-a-solution", "part-a-tests"),
    ("part-b-solution", "part-b-tests"),
    ("part-c-solution", "part-c-tests"),
    ("part-d-solution", "part-d-tests"),
)

REFLECTED_CRC = """    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
"""

KEY_SLOT_MUTANTS = [
    Variant("hash tags ignored", *A, replace=(('    start = data.find(b"{")\n', "    start = -1\n"),)),
    Variant(
        "CRC16 with initial value 0xFFFF (CCITT-FALSE)",
        *A,
        replace=(("    crc = 0\n", "    crc = 0xFFFF\n"),),
    ),
    Variant(
        "reflected CRC16 (ARC) instead of XMODEM",
        *A,
        replace=(
            (
                "    crc = 0\n    for byte in data:\n        crc ^= byte << 8\n        for _ in range(8):\n"
                "            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1\n"
                "        crc &= 0xFFFF\n    return crc\n",
                REFLECTED_CRC,
            ),
        ),
    ),
    Variant("modulo 16383", *A, replace=(("% 16384", "% 16383"),)),
    Variant(
        "an empty tag {} hashes the empty string", *A, replace=(("if end > start + 1:", "if end != -1:"),)
    ),
    Variant(
        "the last } closes the tag",
        *A,
        replace=(('end = data.find(b"}", start + 1)', 'end = data.rfind(b"}")'),),
    ),
    Variant(
        "the last { opens the tag", *A, replace=(('start = data.find(b"{")', 'start = data.rfind(b"{")'),)
    ),
    Variant(
        "} searched from the start of the key",
        *A,
        replace=(('end = data.find(b"}", start + 1)', 'end = data.find(b"}")'),),
    ),
    Variant(
        "bytes decoded as UTF-8 first (invalid bytes dropped)",
        *A,
        replace=(
            (
                'data = key.encode("utf-8") if isinstance(key, str) else bytes(key)',
                'data = (key if isinstance(key, str) else key.decode("utf-8", "ignore")).encode("utf-8")',
            ),
        ),
    ),
    Variant(
        "text hashed as Latin-1", *A, replace=(('key.encode("utf-8")', 'key.encode("latin-1", "replace")'),)
    ),
    Variant(
        "asks the server (CLUSTER KEYSLOT)",
        *A,
        replace=(
            (
                '    data = key.encode("utf-8")',
                '    return rc.cluster_keyslot(key)\n    data = key.encode("utf-8")',
            ),
        ),
    ),
    Variant(
        "calls redis-py's helper",
        *A,
        replace=(
            (
                "    return crc16(data) % 16384",
                "    from redis.crc import key_slot as library_slot\n\n    return library_slot(data)",
            ),
        ),
    ),
]

NODES_FRAME_MUTANTS = [
    Variant(
        "slot ranges counted one short",
        *B,
        replace=(("int(last or first) - int(first) + 1", "int(last or first) - int(first)"),),
    ),
    Variant(
        "slots in migration counted",
        *B,
        replace=(
            (
                "                continue  # [slot",
                "                slots += 1\n                continue  # [slot",
            ),
        ),
    ),
    Variant(
        "role left as Redis's 'slave'",
        *B,
        replace=(('"replica" if "slave" in flag_set', '"slave" if "slave" in flag_set'),),
    ),
    Variant("'fail?' not counted as failing", *B, replace=(('{"fail", "fail?"}', '{"fail"}'),)),
    Variant("master_id kept as '-'", *B, replace=(('None if master == "-" else master', "master"),)),
    Variant(
        "hostname after the bus port not stripped", *B, replace=(('address.split(",", 1)[0]', "address"),)
    ),
    Variant("port kept as text", *B, replace=(('"port": int(port),', '"port": port,'),)),
    Variant(
        "blank lines not skipped", *B, replace=(("        if not line.strip():\n            continue\n", ""),)
    ),
    Variant(
        "no columns for an empty text",
        *B,
        replace=(("pd.DataFrame(rows, columns=NODE_COLUMNS)", "pd.DataFrame(rows)"),),
    ),
    Variant(
        "pong time read as the config epoch",
        *B,
        replace=(("master, _ping, _pong, epoch, link", "master, _ping, epoch, _pong, link"),),
    ),
]

RETURNS_THE_REPLICA_AT_ONCE = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines():
        fields = line.split()
        if fields[3] == old_master_id:
            return fields[0]
    raise TimeoutError("the old master has no replica")
"""

RETURNS_WHEN_FLAGGED_FAIL = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line.split() for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()]
        old = next(fields for fields in lines if fields[0] == old_master_id)
        if "fail" in old[2].split(","):
            return next(fields[0] for fields in lines if fields[3] == old_master_id)
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_ALL_OK = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    heir = next(
        line.split()[0]
        for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()
        if line.split()[3] == old_master_id
    )
    while time.monotonic() < deadline:
        if all("cluster_state:ok" in client.execute_command("CLUSTER", "INFO") for client in nodes):
            return heir
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_THE_NEW_MASTER_SAYS_SO = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    lines = [line.split() for line in nodes[0].execute_command("CLUSTER", "NODES").splitlines()]
    heir = next(fields[0] for fields in lines if fields[3] == old_master_id)
    by_id = {client.execute_command("CLUSTER", "MYID"): client for client in nodes}
    while time.monotonic() < deadline:
        if by_id[heir].execute_command("ROLE")[0] == "master":
            return heir
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

RETURNS_WHEN_THE_FIRST_NODE_AGREES = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    first = nodes[0]

    def lines():
        return [line.split() for line in first.execute_command("CLUSTER", "NODES").splitlines()]

    wanted = next(fields[8:] for fields in lines() if fields[0] == old_master_id)
    while time.monotonic() < deadline:
        for fields in lines():
            if fields[0] != old_master_id and "master" in fields[2] and fields[8:] == wanted:
                if "cluster_state:ok" in first.execute_command("CLUSTER", "INFO"):
                    return fields[0]
        time.sleep(0.05)
    raise TimeoutError("no failover")
"""

FAILOVER_MUTANTS = [
    Variant(
        "returns as soon as the new master says so itself", *C, source=RETURNS_WHEN_THE_NEW_MASTER_SAYS_SO
    ),
    Variant("returns once the first node agrees", *C, source=RETURNS_WHEN_THE_FIRST_NODE_AGREES),
    Variant(
        "skips the last node",
        *C,
        replace=(
            ("views = [view(client) for client in nodes]", "views = [view(client) for client in nodes[:-1]]"),
            (
                'states = [client.execute_command("CLUSTER", "INFO") for client in nodes]',
                'states = [client.execute_command("CLUSTER", "INFO") for client in nodes[:-1]]',
            ),
        ),
    ),
    Variant("returns the replica at once", *C, source=RETURNS_THE_REPLICA_AT_ONCE),
    Variant("returns once the old master is flagged fail", *C, source=RETURNS_WHEN_FLAGGED_FAIL),
    Variant(
        "returns when every node says ok (still true right after the kill)", *C, source=RETURNS_WHEN_ALL_OK
    ),
    Variant(
        "returns None instead of raising TimeoutError",
        *C,
        replace=(
            ('raise TimeoutError(f"no failover of {old_master_id} within {timeout} s")', "return None"),
        ),
    ),
    Variant(
        "raises RuntimeError instead of TimeoutError",
        *C,
        replace=(("raise TimeoutError(", "raise RuntimeError("),),
    ),
    Variant(
        "timeout taken as milliseconds",
        *C,
        replace=(
            ("deadline = time.monotonic() + timeout\n", "deadline = time.monotonic() + timeout / 1000\n"),
        ),
    ),
]

IMPORTING = '        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)\n'

MOVE_MUTANTS = [
    Variant(
        "keys migrated before the target is marked IMPORTING",
        *D,
        replace=(
            (IMPORTING, ""),
            (
                "        for client in [target, *masters]:\n",
                IMPORTING + "        for client in [target, *masters]:\n",
            ),
        ),
    ),
    Variant(
        "SETSLOT NODE sent to the target and the source only",
        *D,
        replace=(("for client in [target, *masters]:", "for client in [target, source]:"),),
    ),
    Variant(
        "SETSLOT NODE forgotten on the source",
        *D,
        replace=(
            (
                "for client in [target, *masters]:",
                'for client in [target] + [m for m in masters if m.execute_command("CLUSTER", "MYID") != source_id]:',
            ),
        ),
    ),
    Variant(
        "one slot too many",
        *D,
        replace=(("slots = sorted(owned)[:count]", "slots = sorted(owned)[: count + 1]"),),
    ),
    Variant(
        "the highest slots",
        *D,
        replace=(("slots = sorted(owned)[:count]", "slots = sorted(owned)[-count:]"),),
    ),
    Variant(
        "only the first batch of keys migrated",
        *D,
        replace=(("        while keys := source", "        if keys := source"),),
    ),
    Variant(
        "MIGRATE ... COPY leaves the keys behind",
        *D,
        replace=(('0, 5000, "KEYS", *keys)', '0, 5000, "COPY", "KEYS", *keys)'),),
    ),
    Variant(
        "count not validated",
        *D,
        replace=(
            (
                '    if not 1 <= count <= len(owned):\n        raise ValueError(f"cannot move {count} slots: the source serves {len(owned)}")\n',
                "",
            ),
        ),
    ),
]

KEY_SLOT_WITH_TABLE = """
_TABLE = []
for _byte in range(256):
    _crc = _byte << 8
    for _ in range(8):
        _crc = ((_crc << 1) ^ 0x1021) & 0xFFFF if _crc & 0x8000 else (_crc << 1) & 0xFFFF
    _TABLE.append(_crc)


def key_slot(key):
    raw = key if isinstance(key, bytes) else key.encode()
    _, brace, rest = raw.partition(b"{")
    tag, closing, _ = rest.partition(b"}")
    if brace and closing and tag:
        raw = tag
    crc = 0
    for byte in raw:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc & 0x3FFF
"""

KEY_SLOT_WITH_REGEX_AND_STDLIB = """
import binascii
import re as _re


def key_slot(key):
    raw = key.encode("utf-8") if isinstance(key, str) else key
    tagged = _re.match(rb"[^{]*\\{([^}]*)\\}", raw, _re.DOTALL)
    if tagged and tagged.group(1):
        raw = tagged.group(1)
    return binascii.crc_hqx(raw, 0) % 16384
"""

NODES_FRAME_WITH_REGEX = r"""
import re as _re

_LINE = _re.compile(
    r"(?P<id>\S+) (?P<host>[^\s:]*):(?P<port>\d+)@(?P<bus>\d+)(?:,\S*)? (?P<flags>\S+) (?P<master>\S+) "
    r"\d+ \d+ (?P<epoch>\d+) (?P<link>\S+)(?P<slots>.*)"
)


def cluster_nodes_frame(text):
    columns = {name: [] for name in ["id", "host", "port", "bus_port", "role", "myself", "failing",
                                     "master_id", "config_epoch", "link_state", "slots"]}
    for match in _LINE.finditer(text):
        flags = match["flags"].split(",")
        owned = 0
        for part in match["slots"].split():
            if "[" not in part:
                bounds = [int(x) for x in part.split("-")]
                owned += bounds[-1] - bounds[0] + 1
        values = [match["id"], match["host"], int(match["port"]), int(match["bus"]),
                  "replica" if "slave" in flags else "master", "myself" in flags,
                  "fail" in flags or "fail?" in flags, None if match["master"] == "-" else match["master"],
                  int(match["epoch"]), match["link"], owned]
        for name, value in zip(columns, values):
            columns[name].append(value)
    frame = pd.DataFrame(columns)
    return frame.astype({"port": "int64", "bus_port": "int64", "config_epoch": "int64", "slots": "int64",
                         "myself": bool, "failing": bool})
"""

FAILOVER_WITH_CLUSTER_SLOTS = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    end = time.monotonic() + timeout

    def owners(client):
        return {(first, last): holders[0][2] for first, last, *holders in client.execute_command("CLUSTER", "SLOTS")}

    ranges = [span for span, owner in owners(nodes[0]).items() if owner == old_master_id]
    while time.monotonic() < end:
        try:
            maps = [owners(client) for client in nodes]
            heirs = {m.get(span) for m in maps for span in ranges}
            ok = all("cluster_state:ok" in client.execute_command("CLUSTER", "INFO") for client in nodes)
            if ok and len(heirs) == 1 and None not in heirs and old_master_id not in heirs:
                return heirs.pop()
        except redis.ConnectionError:
            pass
        time.sleep(0.1)
    raise TimeoutError(old_master_id)
"""

FAILOVER_WATCHING_THE_REPLICAS = """
def wait_for_failover(nodes, old_master_id, timeout=15.0):
    started = time.monotonic()

    def table(client):
        rows = {}
        for line in client.execute_command("CLUSTER", "NODES").splitlines():
            fields = line.split()
            rows[fields[0]] = {"flags": fields[2], "master": fields[3], "slots": fields[8:]}
        return rows

    first = table(nodes[0])
    wanted = [s for s in first[old_master_id]["slots"] if not s.startswith("[")]
    candidates = [node_id for node_id, row in first.items() if row["master"] == old_master_id]
    while time.monotonic() - started < timeout:
        time.sleep(0.02)
        views = [table(client) for client in nodes]
        infos = [client.execute_command("CLUSTER", "INFO") for client in nodes]
        if not all("cluster_state:ok" in info for info in infos):
            continue
        for candidate in candidates:
            if all("master" in v[candidate]["flags"] and all(s in v[candidate]["slots"] for s in wanted) for v in views):
                return candidate
    raise TimeoutError("timed out")
"""

MOVE_ONE_KEY_AT_A_TIME = """
def move_slots(source, target, count, masters):
    def me(client):
        for line in client.execute_command("CLUSTER", "NODES").splitlines():
            fields = line.split()
            if "myself" in fields[2]:
                return fields

    source_line, target_line = me(source), me(target)
    source_id, target_id = source_line[0], target_line[0]
    mine = sorted(
        slot
        for part in source_line[8:] if not part.startswith("[")
        for slot in range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)
    )
    if count < 1 or count > len(mine):
        raise ValueError(count)
    options = target.connection_pool.connection_kwargs
    chosen = mine[:count]
    others = [m for m in masters if m.execute_command("CLUSTER", "MYID") != target_id]
    for slot in chosen:
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while source.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot):
            for key in source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10):
                source.execute_command("MIGRATE", options["host"], options["port"], key, 0, 2000, "REPLACE")
        target.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        for master in others:
            master.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    return chosen
"""

ALTERNATIVES = [
    Variant("key_slot with a CRC table, partition and & 0x3FFF", *A, source=KEY_SLOT_WITH_TABLE),
    Variant("key_slot with a regex and binascii.crc_hqx", *A, source=KEY_SLOT_WITH_REGEX_AND_STDLIB),
    Variant("cluster_nodes_frame with a regex and column lists", *B, source=NODES_FRAME_WITH_REGEX),
    Variant("wait_for_failover on CLUSTER SLOTS", *C, source=FAILOVER_WITH_CLUSTER_SLOTS),
    Variant(
        "wait_for_failover watching the old master's replicas", *C, source=FAILOVER_WATCHING_THE_REPLICAS
    ),
    Variant("move_slots one key at a time, others told once", *D, source=MOVE_ONE_KEY_AT_A_TIME),
]

MUTANTS = KEY_SLOT_MUTANTS + NODES_FRAME_MUTANTS + FAILOVER_MUTANTS + MOVE_MUTANTS


class TestClusterExercises(ExerciseSuite):
    module = "02_cluster"
    notebook = "cluster"
    mutants = MUTANTS
    alternatives = ALTERNATIVES
