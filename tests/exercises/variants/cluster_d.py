"""02_cluster, Part D: move slots with their keys.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

D = cells("part-d")

IMPORTING = '        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)\n'

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

MUTANTS = [
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

ALTERNATIVES = [
    Variant("move_slots one key at a time, others told once", *D, source=MOVE_ONE_KEY_AT_A_TIME),
]
