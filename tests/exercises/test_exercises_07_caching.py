"""07_caching: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import caching_a, caching_b, caching_c, caching_d, collect


class TestCachingExercises(ExerciseSuite):
    module = "07_caching"
    mutants, alternatives = collect(caching_a, caching_b, caching_c, caching_d)
