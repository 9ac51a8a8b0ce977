"""03_persistence, Part B: writes lost in a crash.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

B = cells("part-b")

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

MUTANTS = [
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
]

ALTERNATIVES = [
    Variant("sequential writes, restart(hard=True), MGET", *B, source=SEQUENTIAL_CRASH_MEASUREMENT),
]
