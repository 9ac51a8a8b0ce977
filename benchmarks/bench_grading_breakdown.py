"""Where one submission's grading time goes, for every notebook of every module.

For each module, one complete submission (the source notebooks) is graded by ``nbgrader
autograde`` then ``generate_feedback`` in a probe process that times each phase from inside
(nbclient's kernel start, each cell, the kernel's shutdown) and counts CPU seconds; twice: as
plain nbgrader does it, and as the course grader's worker does it (kernels forked from a zygote
that has the kernels' imports done, see course/grader/kernels.py). The phases:

* nbgrader start-up: interpreter start, imports and the app's configuration (paid once per
  ``nbgrader`` command; the course grader's workers pay it once per job);
* autograde overhead: nbgrader's own work around the kernel (sanitising, gradebook, saving);
* kernel start: until the kernel answers;
* the set-up cell (and, measured apart in a bare interpreter, what its imports alone cost);
* each graded test cell, the solution cells together, every other cell together (``%%demo``
  cells do nothing while nbgrader grades);
* kernel shutdown, then ``generate_feedback``.

    python benchmarks/bench_grading_breakdown.py [MODULE ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROBE_STARTED = time.perf_counter()

from bench_grading_classes import make_course, notebooks, submit, timed_nbgrader  # noqa: E402

from course.grader.processes import nbgrader_env  # noqa: E402
from course.settings import COURSE_ROOT, modules  # noqa: E402


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def probe(work: Path, module: str, student: str, fork: bool) -> dict[str, Any]:
    """Grade one submission in this process, timing each phase (runs in a fresh process).

    ``fork``: as the course's worker grades, with kernels forked from a zygote made after the
    worker's one-off imports (timed apart: a worker pays them once, not per submission)."""
    import nbformat
    from nbclient.client import NotebookClient

    from course.grader.worker import FORKED_KERNELS, nbgrader_in_process

    imported = time.perf_counter()
    preload_cpu = preload_wall = 0.0
    if fork:
        from course.grader.kernels import ZYGOTE, preload

        before = cpu_seconds()
        preload()
        ZYGOTE.start()
        preload_cpu, preload_wall = cpu_seconds() - before, time.perf_counter() - imported
    events: list[tuple[str, str, float, float]] = []  # (kind, name, start, end)
    current: dict[str, str] = {"notebook": ""}

    def timed(kind: str, original: Any, name: Any = None) -> Any:
        def wrapper(self: NotebookClient, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                label = name(self, *args) if name else current["notebook"]
                events.append((kind, label, started, time.perf_counter()))

        return wrapper

    def cell_name(self: NotebookClient, cell: Any, index: int, *rest: Any) -> str:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        role = "test" if grade.get("grade") else "solution" if grade.get("solution") else "other"
        return f"{current['notebook']}|{role}|{cell.get('id')}"

    from nbconvert.preprocessors import ExecutePreprocessor

    original_preprocess = ExecutePreprocessor.preprocess

    def preprocess(self: Any, nb: Any, resources: Any = None, *args: Any, **kwargs: Any) -> Any:
        current["notebook"] = f"{(resources or {}).get('unique_key', '?')}.ipynb"
        return original_preprocess(self, nb, resources, *args, **kwargs)

    ExecutePreprocessor.preprocess = preprocess  # type: ignore[method-assign]
    # nbconvert calls nbclient's synchronous wrappers (made with run_sync at import time).
    for attribute, kind, name in (
        ("start_new_kernel", "kernel-start", None),
        ("start_new_kernel_client", "kernel-ready", None),
        ("execute_cell", "cell", cell_name),
        ("_cleanup_kernel", "kernel-stop", None),
    ):
        setattr(NotebookClient, attribute, timed(kind, getattr(NotebookClient, attribute), name))

    os.chdir(work)
    who = [module, "--student", student, "--force"]
    kernels = [f"--Execute.kernel_manager_class={FORKED_KERNELS}"] if fork else []
    started = time.perf_counter()
    code, log = nbgrader_in_process(["autograde", *who, *kernels])
    graded = time.perf_counter()
    assert code == 0, log[-3000:]
    code, log = nbgrader_in_process(["generate_feedback", *who])
    assert code == 0, log[-3000:]
    done = time.perf_counter()
    if fork:
        ZYGOTE.close()  # reaped: its kernels' CPU counts among this process's children
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    for path in (work / "autograded" / student / module).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                assert output.get("output_type") != "error", f"{path.name}: {output.get('ename')}"
    return {
        "startup": imported - PROBE_STARTED + interpreter_seconds() + preload_wall,
        "preload_cpu": preload_cpu,
        "autograde": graded - started,
        "feedback": done - graded,
        "events": [[kind, name, start - started, end - started] for kind, name, start, end in events],
        "cpu_self": own.ru_utime + own.ru_stime - preload_cpu,
        "cpu_children": children.ru_utime + children.ru_stime,
    }


def interpreter_seconds() -> float:
    """Seconds from this process's creation to the first line of this module."""
    import psutil

    return max(0.0, time.time() - psutil.Process().create_time() - (time.perf_counter() - PROBE_STARTED))


def setup_imports(notebook: Path) -> str:
    """The import statements of a notebook's set-up cell, as one program."""
    import nbformat

    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if c.get("id") == "setup")
    code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
    tree = ast.parse(code)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    return "import course.notebook\n" + "\n".join(ast.unparse(node) for node in imports)


def import_seconds(program: str) -> float:
    """Wall seconds a bare interpreter takes for ``program`` beyond starting up (best of 2)."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=nbgrader_env(), cwd=COURSE_ROOT)
        return time.perf_counter() - started

    return min(run(program) for _ in range(2)) - min(run("pass") for _ in range(2))


def measure(module: str, scratch: Path, fork: bool) -> dict[str, Any]:
    root = make_course(scratch / f"{module}-{'forked' if fork else 'plain'}", [module])
    submit(root, "probe", module, complete=True)
    timed_nbgrader(root, "generate_assignment", module, "--force")
    output = subprocess.run(
        [sys.executable, __file__, "--probe", str(root), module, "probe", "fork" if fork else "plain"],
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert output.returncode == 0, output.stderr[-3000:]
    figures: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return figures


def rows(figures: dict[str, Any]) -> dict[str, float]:
    """Seconds per phase, by label, in the order they happen."""
    events = figures["events"]
    kernel = sum(e - s for kind, _, s, e in events if kind in ("kernel-start", "kernel-ready"))
    stop = sum(e - s for kind, _, s, e in events if kind == "kernel-stop")
    cells = [(name.split("|"), e - s) for kind, name, s, e in events if kind == "cell"]
    found = {
        "nbgrader start-up (plain: per command; worker: per job)": figures["startup"],
        "autograde overhead (sanitise, gradebook, save)": figures["autograde"]
        - kernel
        - stop
        - sum(seconds for _, seconds in cells),
        "kernel start, until it answers": kernel,
    }
    for notebook in sorted({parts[0] for parts, _ in cells}):
        mine = [(parts, seconds) for parts, seconds in cells if parts[0] == notebook]
        found[f"{notebook}: set-up cell"] = sum(s for p, s in mine if p[2] == "setup")
        for parts, seconds in mine:
            if parts[1] == "test":
                found[f"{notebook}: {parts[2]}"] = seconds
        found[f"{notebook}: solution cells"] = sum(s for p, s in mine if p[1] == "solution")
        others = [s for p, s in mine if p[1] == "other" and p[2] != "setup"]
        found[f"{notebook}: the {len(others)} other cells (demos skipped)"] = sum(others)
    found["kernel shutdown"] = stop
    found["generate_feedback (in the same process)"] = figures["feedback"]
    return found


def report(module: str, plain: dict[str, Any], forked: dict[str, Any], imports: dict[str, float]) -> None:
    print(f"\n{module}: one complete submission, seconds")
    print(f"  {'':<60} {'plain':>7} {'worker':>7}")
    mine = rows(forked)
    for label, seconds in rows(plain).items():
        print(f"  {label:<60} {seconds:7.2f} {mine.get(label, float('nan')):7.2f}")
        notebook = label.split(":")[0]
        if label.endswith("set-up cell") and notebook in imports:
            print(
                f"  {notebook + ':   its imports alone, in a bare interpreter':<60} {imports[notebook]:7.2f}"
            )
    for name, figures in (("plain", plain), ("worker", forked)):
        wall = figures["autograde"] + figures["feedback"]
        cpu = figures["cpu_self"] + figures["cpu_children"]
        print(
            f"  {name}: {wall:.1f} s and {cpu:.1f} CPU-s per submission besides start-up "
            f"({figures['cpu_self']:.1f} nbgrader, {figures['cpu_children']:.1f} kernels and servers)"
            + (
                f"; the worker's one-off imports {figures['preload_cpu']:.1f} CPU-s"
                if name == "worker"
                else ""
            )
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        print(json.dumps(probe(Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "fork")))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", default=list(modules()))
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as scratch:
        for module in args.modules:
            imports = {nb.name: import_seconds(setup_imports(nb)) for nb in notebooks(module)}
            plain, forked = measure(module, Path(scratch), False), measure(module, Path(scratch), True)
            report(module, plain, forked, imports)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
