"""A class spread over every module, graded side by side in one run: plain nbgrader against
``python -m course grade``.

The class (default 40 submissions, round robin over the modules, two complete for one blank) is
copied once per way of grading, so every way grades the same files from a fresh gradebook:

1. plain ``nbgrader autograde <module>`` for each module, one after the other (nbgrader grades
   one submission at a time), then ``nbgrader generate_feedback <module>``: the baseline;
2. ``course grade`` (autograde and feedback for every submission) with each ``--jobs`` asked for.

Every way must give every submission the same score; the figures are wall seconds, submissions
per minute and the ratio of throughputs against plain sequential autograde (without feedback, so
the ratio is conservative). Nothing here is a pass/fail test.

    python benchmarks/bench_grading_class.py [--size 40] [--jobs 2 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_grading_classes import spread_class, timed_nbgrader
from nbgrader.api import Gradebook, MissingEntry

from course.grader.classgrader import ClassGrader
from course.grader.gradebook import db_url, register_modules


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


def course_grade(root: Path, students: dict[str, list[str]], jobs: int) -> float:
    register_modules(root, list(students))  # generate_assignment, outside the timing as above
    grader = ClassGrader(root=root, modules=tuple(students), jobs=jobs, progress=False)
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
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[os.cpu_count() or 1, 2 * (os.cpu_count() or 1)]
    )
    args = parser.parse_args()
    n = args.size
    print(
        f"{n} submissions over every module, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start"
    )
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        baseline = Path(scratch) / "plain"
        students = spread_class(baseline, n)
        autograde, feedback = plain(baseline, students)
        expected = scores(baseline, students)
        runs = {}
        for jobs in args.jobs:
            root = Path(scratch) / f"jobs-{jobs}"
            spread_class(root, n)
            runs[jobs] = course_grade(root, students, jobs)
            differ = {k: (v, expected[k]) for k, v in scores(root, students).items() if v != expected[k]}
            if differ:
                print(f"  SCORES DIFFER with --jobs {jobs} (course grade, plain): {differ}")
    print(f"  {'':<46} {'wall':>7}  {'per minute':>10}  {'vs plain autograde':>18}")
    print(
        f"  {'plain nbgrader autograde, module after module':<46} {autograde:6.1f}s  {60 * n / autograde:10.1f}  {1:17.2f}x"
    )
    total = autograde + feedback
    print(
        f"  {'plain autograde + generate_feedback':<46} {total:6.1f}s  {60 * n / total:10.1f}  {autograde / total:17.2f}x"
    )
    for jobs, seconds in runs.items():
        label = f"course grade --jobs {jobs} (with feedback)"
        print(f"  {label:<46} {seconds:6.1f}s  {60 * n / seconds:10.1f}  {autograde / seconds:17.2f}x")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
