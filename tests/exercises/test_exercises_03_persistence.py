"""03_persistence: the hidden tests reject plausible wrong answers and accept other correct ones."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.sandbox.binaries import find_redis
from tests.exercises.exercise_runner import ExerciseKernel, ExerciseNotebook, ExerciseSuite, check_mutant
from tests.exercises.variants import collect, persistence_a, persistence_b, persistence_c, persistence_d
from tests.kernel import Kernel


class TestPersistenceExercises(ExerciseSuite):
    module = "03_persistence"
    mutants, alternatives = collect(persistence_a, persistence_b, persistence_c, persistence_d)


# -- Part B on a slow disk ----------------------------------------------------------------------
# Part B's bound on acknowledged writes is derived from the disk's own pace. To prove that it holds
# where an fsync is slow, the servers run under strace, which delays every fdatasync by 10 ms.

SLOW_FSYNC_MS = 10

SLOW_DISK_CHECK = f"""
with start_server({{"appendonly": True, "appendfsync": "always"}}) as s:
    c = s.client()
    c.ping()
    started = time.perf_counter()
    for n in range(10):
        c.set(f"k{{n}}", n)
    per_write = (time.perf_counter() - started) / 10
assert per_write >= {SLOW_FSYNC_MS * 0.8} / 1000, f"the emulated disk is not slow: {{per_write * 1000:.2f}} ms per write"
print(f"{{per_write * 1000:.1f}} ms per write")
"""


@pytest.fixture(scope="module")
def slow_disk_bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose server is the real one started under strace with a slow fdatasync."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is needed to emulate a slow disk")
    server = find_redis().server
    folder = tmp_path_factory.mktemp("slow-disk")
    wrapper = folder / server.name
    # -D: the server keeps the pid the sandbox started (and its parent-death signal); strace traces
    # it from a grandchild and exits with it.
    wrapper.write_text(
        f"#!/bin/sh\nexec {strace} -D -f -qq -o /dev/null -e trace=fdatasync "
        f'-e inject=fdatasync:delay_exit={SLOW_FSYNC_MS * 1000} {server} "$@"\n'
    )
    wrapper.chmod(0o755)
    probe = subprocess.run(
        [str(wrapper), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0 or "v=" not in probe.stdout:
        pytest.skip(f"strace cannot trace the server here: {probe.stderr.strip()}")
    return folder


class TestPartBOnASlowDisk:
    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, slow_disk_bin_dir: Path) -> Iterator[ExerciseKernel]:
        notebook = ExerciseNotebook.load("03_persistence")
        env = {"NBGRADER_EXECUTION": "autograde", "REDIS_COURSE_BIN_DIR": str(slow_disk_bin_dir)}
        with Kernel(env=env, cwd=str(notebook.folder)) as kernel:
            for cell_id in [*notebook.setup, persistence_b.B[0]]:
                ok, text = kernel.run(notebook.cells[cell_id])
                assert ok, f"{cell_id} failed:\n{text}"
            yield ExerciseKernel(notebook, kernel)

    @pytest.mark.slow
    def test_the_emulated_disk_is_slow(self, runner: ExerciseKernel) -> None:
        ok, output = runner.run_cell("slow-disk-check", SLOW_DISK_CHECK)
        assert ok, output

    @pytest.mark.slow
    def test_reference_solution_passes(self, runner: ExerciseKernel) -> None:
        ok, output = runner.run_cell(persistence_b.B[1])
        assert ok, output

    @pytest.mark.slow
    def test_a_writer_stopped_early_still_fails(self, runner: ExerciseKernel) -> None:
        (short,) = [
            variant
            for variant in persistence_b.MUTANTS
            if variant.name == "writes for a twentieth of `seconds`"
        ]
        check_mutant(runner, short)
