"""02_cluster, Part B: `CLUSTER NODES` as a DataFrame.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("part-b")

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

MUTANTS = [
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

ALTERNATIVES = [
    Variant("cluster_nodes_frame with a regex and column lists", *B, source=NODES_FRAME_WITH_REGEX),
]
