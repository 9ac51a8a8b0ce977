"""05_security: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import collect, security_a, security_b, security_c, security_d


class TestSecurityExercises(ExerciseSuite):
    module = "05_security"
    mutants, alternatives = collect(security_a, security_b, security_c, security_d)
