"""Grade the same 20-submission class twice: `python -m course grade` (parallel, sandboxed) and
plain sequential `nbgrader autograde`, in one run, and print both times and their ratio.

    python benchmarks/bench_grading.py [--students 20] [--module 01_pubsub]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from course.grader.classgrader import ClassGrader, run_nbgrader
from course.settings import COURSE_ROOT


def make_class(root: Path, module: str, students: int) -> None:
    for name in ("source", "release"):
        shutil.copytree(COURSE_ROOT / name / module, root / name / module)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    for index in range(students):
        kind = "source" if index % 2 == 0 else "release"  # half complete, half blank
        target = root / "submitted" / f"student-{index:02d}" / module
        target.mkdir(parents=True)
        for notebook in (COURSE_ROOT / kind / module).glob("*.ipynb"):
            shutil.copy(notebook, target)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--module", default="01_pubsub")
    args = parser.parse_args()
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        parallel_root, plain_root = Path(scratch) / "parallel", Path(scratch) / "plain"
        for root in (parallel_root, plain_root):
            make_class(root, args.module, args.students)

        code, log = run_nbgrader(["generate_assignment", args.module, "--force"], plain_root, timeout=300)
        assert code == 0, log
        started = time.perf_counter()
        code, log = run_nbgrader(["autograde", args.module, "--force"], plain_root, timeout=3600)
        sequential = time.perf_counter() - started
        assert code == 0, log[-2000:]

        grader = ClassGrader(root=parallel_root, modules=(args.module,), jobs=jobs, force=True)
        grader.ensure_gradebook([args.module])
        started = time.perf_counter()
        outcomes = grader.run()
        parallel = time.perf_counter() - started
        assert all(o.status == "graded" for o in outcomes), [o for o in outcomes if o.status != "graded"]

    print(f"{args.students} submissions of {args.module} on {jobs} cores:")
    for label, seconds in (
        ("nbgrader autograde (sequential)", sequential),
        (f"course grade --jobs {jobs}", parallel),
    ):
        print(f"  {label:<34} {seconds:6.1f} s  ({seconds / args.students:.1f} s per submission)")
    print(f"  {'speed-up':<34} {sequential / parallel:6.2f}x")


if __name__ == "__main__":
    main()
