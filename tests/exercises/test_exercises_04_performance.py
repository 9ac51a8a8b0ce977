"""04_performance: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import collect, performance_a, performance_b, performance_c, performance_d


class TestPerformanceExercises(ExerciseSuite):
    module = "04_performance"
    mutants, alternatives = collect(performance_a, performance_b, performance_c, performance_d)
