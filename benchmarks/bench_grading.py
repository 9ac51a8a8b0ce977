"""What `python -m course grade` costs against plain nbgrader, and what its long-lived workers save.

The same small class (half complete, half blank submissions) is graded four ways in one run, each
in its own copy of the course:

1. plain `nbgrader autograde` (one process, one submission after the other), then
   `nbgrader generate_feedback`: the sequential baseline;
2. `course grade` with one job and two fresh nbgrader commands per submission (no worker);
3. `course grade` with one job and one long-lived worker (nbgrader loads once; kernels forked from
   a warm parent, see course/grader/kernels.py);
4. `course grade` with one job per core, each with its worker.

`benchmarks/bench_grading_class.py` compares a whole class over every module with more jobs.

    python benchmarks/bench_grading.py [--students 4] [--module 01_pubsub]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from course.grader.classgrader import ClassGrader
from course.grader.gradebook import register_modules
from course.grader.processes import run_nbgrader
from course.grader.sandbox import CommandRunner, Runner
from course.grader.worker import GradingWorker
from course.settings import COURSE_ROOT


def make_class(root: Path, module: str, students: int) -> Path:
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / module, root / name / module)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    for index in range(students):
        kind = "source" if index % 2 == 0 else "release"  # half complete, half blank
        target = root / "submitted" / f"student-{index:02d}" / module
        target.mkdir(parents=True)
        for notebook in (COURSE_ROOT / kind / module).glob("*.ipynb"):
            shutil.copy(notebook, target)
    return root


def timed_nbgrader(root: Path, *args: str) -> float:
    started = time.perf_counter()
    result = run_nbgrader(args, root, time.monotonic() + 3600)
    assert result.code == 0, result.log[-3000:]
    return time.perf_counter() - started


def timed_grader(root: Path, module: str, jobs: int, runner: Callable[[], Runner]) -> tuple[float, float]:
    """(wall time, mean seconds per submission) of one `course grade` run."""
    register_modules(root, [module])  # generate_assignment, outside the timing as for plain nbgrader
    grader = ClassGrader(root=root, modules=(module,), jobs=jobs, force=True, progress=False, runner=runner)
    started = time.perf_counter()
    outcomes = grader.run()
    wall = time.perf_counter() - started
    assert all(o.status == "graded" for o in outcomes), [o for o in outcomes if o.status != "graded"]
    return wall, statistics.mean(o.seconds for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--module", default="01_pubsub")
    args = parser.parse_args()
    n, module, cores = args.students, args.module, os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        plain = make_class(Path(scratch) / "plain", module, n)
        timed_nbgrader(plain, "generate_assignment", module, "--force")
        autograde = timed_nbgrader(plain, "autograde", module, "--force")
        feedback = timed_nbgrader(plain, "generate_feedback", module, "--force")
        runs = {}
        for label, jobs, runner in (
            ("commands, 1 job", 1, CommandRunner),
            ("worker, 1 job", 1, GradingWorker),
            (f"worker, {cores} jobs", cores, GradingWorker),
        ):
            runs[label] = timed_grader(make_class(Path(scratch) / label, module, n), module, jobs, runner)

    baseline = autograde + feedback
    print(f"{n} submissions of {module} ({n - n // 2} complete, {n // 2} blank), {cores} cores:")
    print(f"  {'':<44} {'wall':>7}  {'per submission':>14}  {'vs plain':>8}")
    print(f"  {'plain nbgrader autograde (sequential)':<44} {autograde:6.1f}s  {autograde / n:13.1f}s")
    print(f"  {'plain autograde + generate_feedback':<44} {baseline:6.1f}s  {baseline / n:13.1f}s  {1:7.2f}x")
    for label, (wall, each) in runs.items():
        print(f"  {'course grade, ' + label:<44} {wall:6.1f}s  {each:13.1f}s  {baseline / wall:7.2f}x")
    commands, worker = runs["commands, 1 job"][1], runs["worker, 1 job"][1]
    print(f"  the worker saves {commands - worker:.1f} s per submission ({1 - worker / commands:.0%})")


if __name__ == "__main__":
    main()
