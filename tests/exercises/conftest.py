"""Parametrize each module's ExerciseSuite from its mutants, alternatives and graded cells."""

from __future__ import annotations

import pytest

from tests.exercises.exercise_runner import ExerciseNotebook, ExerciseSuite


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = metafunc.cls
    if suite is None or not issubclass(suite, ExerciseSuite):
        return
    if "mutant" in metafunc.fixturenames:
        metafunc.parametrize("mutant", suite.mutants, ids=[v.name for v in suite.mutants])
    if "alternative" in metafunc.fixturenames:
        metafunc.parametrize("alternative", suite.alternatives, ids=[v.name for v in suite.alternatives])
    if "test_cell" in metafunc.fixturenames:
        metafunc.parametrize("test_cell", ExerciseNotebook.load(suite.module, suite.notebook).graded_cells)
