"""Run a source notebook's exercises in one kernel, swapping solution cells for variants.

A *mutant* is our solution with a plausible mistake (wrong channel, missing TTL, off-by-one): its
test cell must fail. An *alternative* is a correct solution written differently: its test cell
must pass. Both run as nbgrader grades: with ``NBGRADER_EXECUTION=autograde`` and demos skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest

from course.sandbox.binaries import find_redis
from course.settings import COURSE_ROOT
from tests.kernel import Kernel


@dataclass(frozen=True)
class Variant:
    """A change to one solution cell and the test cell that judges it."""

    name: str
    solution: str
    test: str
    replace: tuple[tuple[str, str], ...] = ()
    source: str | None = None  # a whole new cell instead of replacements
    needs_tls: bool = False  # only a server built with TLS tells it apart

    def apply(self, original: str) -> str:
        if self.source is not None:
            return self.source
        text = original
        for old, new in self.replace:
            assert text.count(old) == 1, f"{self.name}: {old!r} must occur once in {self.solution}"
            text = text.replace(old, new)
        return text


@dataclass
class ExerciseNotebook:
    path: Path
    cells: dict[str, str] = field(default_factory=dict)
    setup: list[str] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, module: str, name: str = "") -> ExerciseNotebook:
        """``source/<module>/<name>.ipynb``; ``name`` may be left out when the module has one notebook."""
        if name:
            path = COURSE_ROOT / "source" / module / f"{name}.ipynb"
        else:
            (path,) = (COURSE_ROOT / "source" / module).glob("*.ipynb")
        notebook = nbformat.read(path, as_version=4)
        loaded = cls(path)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta:
                continue
            loaded.cells[cell.id] = cell.source
            if meta.get("solution"):
                loaded.solutions.append(cell.id)
            elif meta.get("locked") and not meta.get("grade"):
                loaded.setup.append(cell.id)
        return loaded

    @property
    def graded_cells(self) -> list[str]:
        return [cell_id for cell_id in self.cells if cell_id not in self.setup + self.solutions]

    @property
    def folder(self) -> Path:
        return self.path.parent


class ExerciseKernel:
    """A grading-mode kernel with the notebook's set-up and solutions already run."""

    def __init__(self, notebook: ExerciseNotebook, kernel: Kernel) -> None:
        self.notebook = notebook
        self.kernel = kernel

    def run_cell(self, cell_id: str, source: str | None = None) -> tuple[bool, str]:
        return self.kernel.run(source if source is not None else self.notebook.cells[cell_id])

    def judge(self, variant: Variant) -> tuple[bool, str]:
        """Run ``variant``'s solution, then its test cell; restore our solution afterwards."""
        original = self.notebook.cells[variant.solution]
        try:
            ok, text = self.run_cell(variant.solution, variant.apply(original))
            assert ok, f"{variant.name}: the variant's solution cell itself failed:\n{text}"
            return self.run_cell(variant.test)
        finally:
            ok, text = self.run_cell(variant.solution)
            assert ok, text


def exercise_kernel(module: str, name: str = "") -> Iterator[ExerciseKernel]:
    """Body of a class-scoped fixture: yields a ready kernel, shuts it down afterwards."""
    notebook = ExerciseNotebook.load(module, name)
    with Kernel(env={"NBGRADER_EXECUTION": "autograde"}, cwd=str(notebook.folder)) as kernel:
        for cell_id in notebook.setup + notebook.solutions:
            ok, text = kernel.run(notebook.cells[cell_id])
            assert ok, f"{cell_id} failed:\n{text}"
        yield ExerciseKernel(notebook, kernel)


class ExerciseSuite:
    """The three checks every module's exercises get; a module's file subclasses it.

    ``tests/notebooks/conftest.py`` parametrizes ``mutant``, ``alternative`` and ``test_cell``
    from the subclass's attributes and its notebook's graded cells.
    """

    module: ClassVar[str]
    #: The notebook's name without ``.ipynb``; may stay empty when the module has one notebook.
    notebook: ClassVar[str] = ""
    mutants: ClassVar[Sequence[Variant]] = ()
    alternatives: ClassVar[Sequence[Variant]] = ()
    #: Test cells that grade only on a server built with TLS (elsewhere they refuse to grade).
    tls_tests: ClassVar[frozenset[str]] = frozenset()

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls) -> Iterator[ExerciseKernel]:
        yield from exercise_kernel(cls.module, cls.notebook)

    def skip_without_tls(self, test: str, variant: Variant | None = None) -> None:
        """Skip, with the reason, what only a TLS build can judge when this build has no TLS."""
        if test in self.tls_tests or (variant is not None and variant.needs_tls):
            server = find_redis()
            if not server.tls:
                pytest.skip(f"{server.describe()} was built without TLS, which {test} needs")

    @pytest.mark.slow
    def test_hidden_tests_reject(self, runner: ExerciseKernel, mutant: Variant) -> None:
        self.skip_without_tls(mutant.test, mutant)
        check_mutant(runner, mutant)

    @pytest.mark.slow
    def test_hidden_tests_accept(self, runner: ExerciseKernel, alternative: Variant) -> None:
        self.skip_without_tls(alternative.test, alternative)
        check_alternative(runner, alternative)

    @pytest.mark.slow
    def test_reference_solution_passes(self, runner: ExerciseKernel, test_cell: str) -> None:
        self.skip_without_tls(test_cell)
        ok, output = runner.run_cell(test_cell)
        assert ok, output


def check_mutant(runner: ExerciseKernel, variant: Variant) -> None:
    passed, output = runner.judge(variant)
    if passed:
        pytest.fail(f"the tests of {variant.test} accept a wrong answer: {variant.name}")
    assert "Error" in output, output


def check_alternative(runner: ExerciseKernel, variant: Variant) -> None:
    passed, output = runner.judge(variant)
    assert passed, f"a correct alternative ({variant.name}) fails {variant.test}:\n{output}"
