"""06_monitoring: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import collect, monitoring_a, monitoring_b, monitoring_c, monitoring_d


class TestExercises(ExerciseSuite):
    module = "06_monitoring"
    mutants, alternatives = collect(monitoring_a, monitoring_b, monitoring_c, monitoring_d)
