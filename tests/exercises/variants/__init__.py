"""The variants each exercise's hidden tests are judged by, one module per part: ``<topic>_<part>.py``.

Each module names its part's cells (``A = cells("part-a")``: the solution cell and the test cell
that judges it) and holds two lists of :class:`~tests.exercises.exercise_runner.Variant`:
``MUTANTS``, plausible wrong answers the tests must reject, and ``ALTERNATIVES``, correct answers
written differently that they must accept. ``tests/exercises/test_exercises_<module>.py`` gathers
a notebook's parts with :func:`collect`.
"""

from __future__ import annotations

from types import ModuleType

from tests.exercises.exercise_runner import Variant


def cells(part: str) -> tuple[str, str]:
    """The ids of ``part``'s solution cell and of its graded test cell: ``("part-a-solution", "part-a-tests")``."""
    return f"{part}-solution", f"{part}-tests"


def variant(name: str, part: tuple[str, str], *pairs: tuple[str, str]) -> Variant:
    """Our solution with each ``(text, replacement)`` of ``pairs`` applied."""
    return Variant(name, *part, replace=pairs)


def collect(*parts: ModuleType) -> tuple[list[Variant], list[Variant]]:
    """The mutants and the alternatives of a notebook's ``parts``, in order."""
    mutants = [mutant for part in parts for mutant in part.MUTANTS]
    alternatives = [alternative for part in parts for alternative in part.ALTERNATIVES]
    return mutants, alternatives
