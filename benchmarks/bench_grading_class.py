"""A class spread over every module, graded side by side in one run: plain nbgrader against
``python -m course grade``.

The class (default 40 submissions, round robin over the modules, two complete for one blank) is
copied once per way of grading, so every way grades the same files from a fresh gradebook:

1. plain ``nbgrader autograde <module>`` for each module, one after the other (nbgrader grades
   one submission at a time), then ``nbgrader generate_feedback <module>``: the baseline;
2. ``course grade`` (autograde and feedback for every submission) for each configuration asked
   for: a number of jobs, with kernels forked from a warm zygote (the default) or, with a
   trailing ``s``, stock kernels (``python -m ipykernel_launcher`` for each notebook).

Every way must give every submission the same score; the figures are wall seconds, submissions
per minute and the ratio of throughputs against plain sequential autograde (without feedback, so
the ratio is conservative). Nothing here is a pass/fail test.

    python benchmarks/bench_grading_class.py [--size 40] [--configs 2 4 4s]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

from bench_grading_classes import spread_class, timed_nbgrader
from nbgrader.api import Gradebook, MissingEntry

from course.grader.classgrader import ClassGrader
from course.grader.gradebook import db_url, register_modules
from course.grader.worker import GradingWorker


def scores(root: Path, students: dict[str, list[str]]) -> dict[str, float]:
    found = {}
    with Gradebook(db_url(root / "gradebook.db")) as gradebook:
        for module, names in students.items():
            for student in names:
                try:
                    found[f"{student}/{module}"] = float(gradebook.find_submission(module, student).score)
                except MissingEntry:
                    found[f"{student}/{module}"] = -1.0
    return found


def plain(root: Path, students: dict[str, list[str]]) -> tuple[float, float]:
    """(autograde seconds, generate_feedback seconds), every module one after the other."""
    for module in students:
        timed_nbgrader(root, "generate_assignment", module, "--force")  # set-up, not timed
    autograde = sum(timed_nbgrader(root, "autograde", module) for module in students)
    feedback = sum(timed_nbgrader(root, "generate_feedback", module) for module in students)
    return autograde, feedback


def course_grade(root: Path, students: dict[str, list[str]], jobs: int, fork: bool) -> float:
    register_modules(root, list(students))  # generate_assignment, outside the timing as above
    runner = functools.partial(GradingWorker, fork_kernels=fork)
    grader = ClassGrader(root=root, modules=tuple(students), jobs=jobs, progress=False, runner=runner)
    started = time.perf_counter()
    outcomes = grader.run()
    seconds = time.perf_counter() - started
    failed = [o for o in outcomes if o.status != "graded"]
    assert not failed, failed
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=40)
    cores = os.cpu_count() or 1
    parser.add_argument("--configs", nargs="+", default=[str(cores), str(2 * cores), f"{2 * cores}s"])
    args = parser.parse_args()
    n = args.size
    load = os.getloadavg()[0]
    print(f"{n} submissions spread over every module, {cores} cores, load {load:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        baseline = Path(scratch) / "plain"
        students = spread_class(baseline, n)
        print("  per module:", ", ".join(f"{m} {len(s)}" for m, s in students.items()))
        autograde, feedback = plain(baseline, students)
        expected = scores(baseline, students)
        runs = {}
        for config in args.configs:
            jobs, fork = int(config.rstrip("s")), not config.endswith("s")
            label = f"course grade --jobs {jobs}, {'forked' if fork else 'stock'} kernels"
            root = Path(scratch) / f"run-{config}"
            spread_class(root, n)
            runs[label] = course_grade(root, students, jobs, fork)
            differ = {k: (v, expected[k]) for k, v in scores(root, students).items() if v != expected[k]}
            if differ:
                print(f"  SCORES DIFFER for {label} (course grade, plain): {differ}")
    rows = [
        ("plain nbgrader autograde, one module after another", autograde),
        ("plain autograde + generate_feedback", autograde + feedback),
        *runs.items(),
    ]
    print(f"  {'':<52} {'wall':>7}  {'per minute':>10}  {'vs plain autograde':>18}")
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:6.1f}s  {60 * n / seconds:10.1f}  {autograde / seconds:17.2f}x")
    print("  (course grade writes feedback too; the ratio is against plain autograde without it)")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
