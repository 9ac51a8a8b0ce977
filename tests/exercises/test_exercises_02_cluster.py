"""02_cluster: the hidden tests reject plausible wrong answers and accept other correct ones.

Parts C and D start their own clusters, so each of their variants costs a few seconds.
Part C's hidden tests freeze one node (SIGSTOP) through a second failover, so an answer that
returns before *every* node agrees fails every time, even though the other nodes learn of a new
master within milliseconds. One wrong answer is deliberately missing because no behaviour test can
tell it apart from a correct one: Part D sending MIGRATING before IMPORTING (a race of one round
trip).
"""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import cluster_a, cluster_b, cluster_c, cluster_d, collect


class TestClusterExercises(ExerciseSuite):
    module = "02_cluster"
    notebook = "cluster"
    mutants, alternatives = collect(cluster_a, cluster_b, cluster_c, cluster_d)
