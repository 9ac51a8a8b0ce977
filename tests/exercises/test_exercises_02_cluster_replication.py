"""02_cluster, replication notebook: the hidden tests reject plausible wrong answers and accept other
correct ones.

Part A runs on a master with two replicas (one made unable to resynchronise); Part B on a master,
two replicas and three Sentinels, with a kill -9 of the master, so each Part B variant costs about
ten seconds. Mutants that retry forever are stopped by the tests' own deadlines (tens of seconds).

One wrong answer is deliberately missing because no behaviour test can tell it apart: Part B writing
an item again after its master acknowledged it and died before ``WAIT`` answered (SET is idempotent;
the tests never kill a master in the middle of a ``WAIT``).
"""

from __future__ import annotations

from tests.exercises.exercise_runner import ExerciseSuite
from tests.exercises.variants import collect, replication_a, replication_b


class TestReplicationExercises(ExerciseSuite):
    module = "02_cluster"
    notebook = "replication"
    mutants, alternatives = collect(replication_a, replication_b)
