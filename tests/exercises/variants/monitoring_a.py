"""06_monitoring, Part A: a metrics sampler that survives counter resets.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

A = cells("part-a")

SAMPLER_SCHEDULED = """
import datetime
import numpy as np

def sample_info(client, fields, samples=5, interval=1.0, counters=()):
    if samples < 2 or interval < 0 or not set(counters) <= set(fields):
        raise ValueError("bad arguments")
    stamps, values = [], []
    next_at = time.monotonic()
    for _ in range(samples):
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        reply = client.execute_command("INFO")
        stamps.append(datetime.datetime.now(datetime.timezone.utc))
        values.append([reply[field] for field in fields])
        next_at = max(next_at + interval, time.monotonic() + interval)
    frame = pd.DataFrame(values, columns=list(fields), index=pd.to_datetime(stamps).rename("time"))
    elapsed = np.diff((frame.index - frame.index[0]).total_seconds().to_numpy())
    for counter in counters:
        now = frame[counter].to_numpy(dtype=float)
        increase = np.where(now[1:] >= now[:-1], now[1:] - now[:-1], now[1:])
        frame[counter + "_per_s"] = np.concatenate([[np.nan], increase / elapsed])
    return frame
"""

SAMPLER_LOOP = """
def sample_info(client: redis.Redis, fields, samples=5, interval=1.0, counters=()):
    counters = tuple(counters)
    for name in counters:
        if name not in fields:
            raise ValueError(name)
    if samples <= 1:
        raise ValueError("samples")
    if interval < 0.0:
        raise ValueError("interval")
    snapshots = []
    while len(snapshots) < samples:
        if snapshots:
            time.sleep(interval)
        info = client.info("default")
        snapshots.append((pd.Timestamp.now("UTC"), info))
    data = {name: [info[name] for _, info in snapshots] for name in fields}
    for name in counters:
        rates = [float("nan")]
        for (t0, old), (t1, new) in zip(snapshots, snapshots[1:]):
            grown = new[name] - old[name]
            rates.append((new[name] if grown < 0 else grown) / (t1 - t0).total_seconds())
        data[f"{name}_per_s"] = rates
    return pd.DataFrame(data, index=pd.DatetimeIndex([t for t, _ in snapshots], name="time"))
"""

MUTANTS = [
    variant("A: a reset gives a negative rate", A, ("        increase[reset] = frame[name][reset]\n", "")),
    variant(
        "A: a reset gives a rate of 0", A, ("increase[reset] = frame[name][reset]", "increase[reset] = 0")
    ),
    variant(
        "A: a reset gives no rate (NaN)",
        A,
        ("increase[reset] = frame[name][reset]", "increase[reset] = float('nan')"),
    ),
    variant(
        "A: an unchanged counter counts as a reset", A, ("reset = increase < 0", "reset = increase <= 0")
    ),
    variant(
        "A: divides by interval, not by the time between snapshots",
        A,
        ('frame[f"{name}_per_s"] = increase / seconds', 'frame[f"{name}_per_s"] = increase / interval'),
    ),
    variant(
        "A: rate since the first snapshot",
        A,
        (
            'frame[f"{name}_per_s"] = increase / seconds',
            'frame[f"{name}_per_s"] = (frame[name] - frame[name].iloc[0]) / (frame.index - frame.index[0]).total_seconds()',
        ),
    ),
    variant("A: no pause between snapshots", A, ("            time.sleep(interval)\n", "            pass\n")),
    variant(
        "A: one snapshot too few", A, ("for number in range(samples):", "for number in range(samples - 1):")
    ),
    variant(
        "A: the first rate is 0, not NaN",
        A,
        (
            'frame[f"{name}_per_s"] = increase / seconds',
            'frame[f"{name}_per_s"] = (increase / seconds).fillna(0)',
        ),
    ),
    variant("A: naive timestamps", A, ('pd.Timestamp.now(tz="UTC")', "pd.Timestamp.now()")),
    variant("A: rate columns named _rate", A, ('f"{name}_per_s"', 'f"{name}_rate"')),
    variant(
        "A: an unknown field becomes NaN",
        A,
        ("{name: info[name] for name in fields}", "{name: info.get(name) for name in fields}"),
    ),
    variant("A: columns in alphabetical order", A, ("columns=fields)", "columns=sorted(fields))")),
    variant(
        "A: counters outside fields not refused up front",
        A,
        (
            '    unknown = [name for name in counters if name not in fields]\n    if unknown:\n        raise ValueError(f"counters must be among the fields: {unknown}")\n',
            "",
        ),
    ),
    variant("A: samples=1 accepted", A, ("    if samples < 2:\n", "    if samples < 1:\n")),
    variant("A: index not named", A, ('pd.DatetimeIndex(times, name="time")', "pd.DatetimeIndex(times)")),
]

ALTERNATIVES = [
    Variant("A: scheduled snapshots, numpy rates, execute_command", *A, source=SAMPLER_SCHEDULED),
    Variant("A: a plain loop over snapshots", *A, source=SAMPLER_LOOP),
]
