from __future__ import annotations

import time

import pytest

from course.measure import Stopwatch, median_seconds, percentile, rate, timed


def test_percentile_is_nearest_rank() -> None:
    samples = [15, 20, 35, 40, 50]
    assert percentile(samples, 30) == 20
    assert percentile(samples, 40) == 20
    assert percentile(samples, 50) == 35
    assert percentile(samples, 100) == 50
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([3.0], 50) == 3.0


@pytest.mark.parametrize("p", [0, -1, 101])
def test_percentile_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="p must be"):
        percentile([1.0], p)


def test_percentile_needs_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_stopwatch_and_timed_measure_wall_time() -> None:
    outer = time.perf_counter()
    with Stopwatch() as watch:
        time.sleep(0.05)
    assert 0.05 <= watch.seconds <= time.perf_counter() - outer
    outer = time.perf_counter()
    assert 0.05 <= timed(lambda: time.sleep(0.05)) <= time.perf_counter() - outer
    outer = time.perf_counter()
    assert 0.0 <= median_seconds(lambda: None, repeat=3) <= time.perf_counter() - outer


def test_rate_guards_zero_durations() -> None:
    assert rate(100, 2.0) == 50
    assert rate(1, 0.0) > 1e8
