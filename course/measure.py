"""Small measurement helpers: a stopwatch, rates, nearest-rank percentiles, medians."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    def __init__(self) -> None:
        self._start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._start


def timed(action: Callable[[], object]) -> float:
    """Seconds one call of ``action`` takes."""
    with Stopwatch() as watch:
        action()
    return watch.seconds


def median_seconds(action: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``repeat`` calls."""
    return statistics.median(timed(action) for _ in range(repeat))


def rate(count: int, seconds: float) -> float:
    """Operations per second, guarded against a zero duration."""
    return count / max(seconds, 1e-9)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(samples)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[rank - 1]
