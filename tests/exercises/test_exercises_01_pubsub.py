"""01_pubsub: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import collect, pubsub_a, pubsub_b, pubsub_c


class TestPubSubExercises(ExerciseSuite):
    module = "01_pubsub"
    mutants, alternatives = collect(pubsub_a, pubsub_b, pubsub_c)
