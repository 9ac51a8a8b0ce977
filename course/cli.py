"""``python -m course COMMAND``: doctor, clean, the maintainer's notebook tools, the instructor's grading."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from course.sandbox.binaries import TOOLS, RedisBinaries, RedisNotFoundError, find_redis
from course.sandbox.install import PROGRAMS
from course.sandbox.leftovers import sweep_leftovers
from course.sandbox.prometheus import monitoring_tools
from course.sandbox.servers import RedisStartError, start_server
from course.settings import COURSE_ROOT, SUBMISSION_TIMEOUT_SECONDS, sandbox_root

PACKAGES = ("redis", "hiredis", "jupyterlab", "nbgrader", "nbval", "pandas", "matplotlib")


def doctor() -> int:
    """Report what the course found and what is missing; exit 1 if it cannot run."""
    problems: list[str] = []
    print(f"Python     {platform.python_version()} ({sys.executable})")
    for package in PACKAGES:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "MISSING"
            problems.append(f"Python package {package} is not installed (run ./scripts/start).")
        print(f"{package:<10} {version}")
    try:
        binaries = find_redis()
    except RedisNotFoundError as error:
        print(f"Server     MISSING\n{error}")
        return 1
    tls = "yes" if binaries.tls else "no (05_security needs it)"
    print(f"Server     {binaries.describe()}, TLS {tls}")
    problems += _report_tools(binaries)
    print(f"Sandbox    {sandbox_root()}")
    try:
        with start_server() as server:
            ok = server.client().ping()
            print(f"Smoke test a sandbox server answered PING on {server.address}: {ok}")
    except RedisStartError as error:
        problems.append(f"A sandbox server failed to start:\n{error}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if any("failed to start" in p or "not installed" in p for p in problems) else 0


def _report_tools(binaries: RedisBinaries) -> list[str]:
    """One line per program a lesson runs: where it is, or MISSING and the lessons it gates."""
    problems = []
    lines: list[tuple[str, str]] = []
    for tool in TOOLS[1:]:
        path = binaries.tools.get(tool)
        if path is None:
            lines.append((tool, "MISSING"))
            continue
        if path.parent == binaries.server.parent:
            where = ""
        elif binaries.same_build(tool):
            where = f" ({binaries.server.name} under this name)"
        else:
            where = " (another build's: none beside the server)"
        lines.append((tool, f"{path}{where}"))
    lines.append(("a Sentinel runs", " ".join(binaries.sentinel_command())))
    print("Tools")
    for name, where in lines:
        print(f"  {name:<16} {where}")
        if where == "MISSING":
            program = PROGRAMS[name]
            fix = f"apt-get install {program.apt}" if program.apt else f"brew install {program.brew}"
            problems.append(f"{name} is missing: {program.needed_by} stops with a message ({fix}).")
    for name, found in monitoring_tools().items():  # optional: 06_monitoring's Prometheus parts
        print(f"  {name:<16} {found or 'MISSING'}")
        if found is None:
            hint = PROGRAMS[name].hint()
            problems.append(f"{name} is missing: 06_monitoring skips its Prometheus parts.\n{hint}")
    return problems


def clean(force: bool = False) -> int:
    """Remove sandbox directories (and servers) left by dead processes; ``force``: all of them."""
    removed = sweep_leftovers(force=force)
    print(f"Removed {len(removed)} leftover sandbox director{'y' if len(removed) == 1 else 'ies'}.")
    return 0


def grade(args: argparse.Namespace) -> int:
    """Grade the class with nbgrader, in parallel; print one line per submission that needs the
    instructor's attention (mended, stopped, refused), then where the reports are."""
    from course.grader.classgrader import ClassGrader
    from course.grader.submissions import extract_zip

    if args.zip:
        unpacked = extract_zip(args.zip, COURSE_ROOT / "submitted")
        print(f"Unpacked {len(unpacked)} files from {args.zip} into submitted/.")
    grader = ClassGrader(
        modules=tuple(args.modules),
        jobs=args.jobs,
        timeout=args.timeout,
        force=args.force,
        students=tuple(args.student),
        progress=not args.no_progress,
        queue=args.queue,
        queue_name=args.queue_name,
        retries=args.retries,
    )
    outcomes = grader.run()
    for outcome in sorted(outcomes, key=lambda o: (o.module, o.student)):
        if outcome.status != "unchanged" and (outcome.status != "graded" or outcome.reasons):
            print(f"{outcome.module} {outcome.student}: {outcome.status}: {'; '.join(outcome.reasons)}")
    graded = sum(o.status == "graded" for o in outcomes)
    unchanged = sum(o.status == "unchanged" for o in outcomes)
    print(
        f"{graded} graded, {len(outcomes) - graded - unchanged} not graded, {unchanged} unchanged; "
        f"reports in {grader.grades_dir}, feedback in {COURSE_ROOT / 'feedback'}"
    )
    return 0


def grade_worker(args: argparse.Namespace) -> int:
    """Run RQ grading jobs from the queue at ``args.url`` until stopped."""
    from course.grader.rqworker import run_worker

    return run_worker(
        args.url,
        args.queue_name,
        burst=args.burst,
        max_jobs=args.max_jobs,
        monitoring=args.heartbeat,
        grace=args.heartbeat_grace,
        name=args.name,
    )


def bundle(args: argparse.Namespace) -> int:
    """Build what students receive into ``args.destination``."""
    from course.grader.bundle import BundleError, build_bundle

    try:
        files = build_bundle(COURSE_ROOT, args.destination)
    except BundleError as error:
        print(f"bundle: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {len(files)} files to {args.destination}: students run ./scripts/start there.")
    return 0


def _require_grader(command: str) -> None:
    """In a student bundle the instructor's tools are absent: say so instead of a traceback."""
    import importlib.util

    if importlib.util.find_spec("course.grader") is None:
        raise SystemExit(f"'{command}' is an instructor's command; this copy of the course is a student's.")


GRADING_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "grade": grade,
    "grade-worker": grade_worker,
    "bundle": bundle,
}


def _add_queue_options(parser: argparse.ArgumentParser) -> None:
    # course.grader.queue.QUEUE_NAME; not imported here: a student's copy has no course.grader
    parser.add_argument(
        "--queue-name", default="course-grading", help="the RQ queue's name (default: %(default)s)"
    )


def _add_grading_parsers(commands: Any) -> None:
    """grade, grade-worker and bundle: the instructor's grading commands."""
    grade_parser = commands.add_parser(
        "grade",
        help="instructors: nbgrader autograde + generate_feedback for every submission, in parallel "
        "sandboxes with a time limit each; one merged gradebook; reports in grades/",
    )
    grade_parser.add_argument("modules", nargs="*", help="default: every module")
    grade_parser.add_argument("--zip", type=Path, help="unpack a zip of <student>/<module>/<notebook> first")
    grade_parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (one worker each)"
    )
    grade_parser.add_argument(
        "--timeout",
        type=float,
        default=SUBMISSION_TIMEOUT_SECONDS,
        help="wall-clock seconds per submission (autograde + feedback); then its process tree is killed",
    )
    grade_parser.add_argument("--student", action="append", default=[], help="grade only these (repeatable)")
    grade_parser.add_argument("--force", action="store_true", help="grade unchanged submissions again")
    grade_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade_parser.add_argument(
        "--queue",
        metavar="redis://HOST:PORT",
        help="enqueue one RQ job per submission there instead of grading here; run "
        "`python -m course grade-worker URL` on the machines that grade (rediss:// for TLS; a "
        "password in the URL or in COURSE_QUEUE_PASSWORD)",
    )
    grade_parser.add_argument(
        "--retries", type=int, default=2, help="with --queue: attempts RQ retries after one fails (default 2)"
    )
    _add_queue_options(grade_parser)
    worker_parser = commands.add_parser(
        "grade-worker",
        help="instructors: grade the jobs `course grade --queue URL` enqueues, on this machine "
        "(an RQ worker: one forked work horse per job, under RQ's hard time limit)",
    )
    worker_parser.add_argument("url", metavar="redis://HOST:PORT")
    _add_queue_options(worker_parser)
    worker_parser.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    worker_parser.add_argument("--max-jobs", type=int, help="stop after this many jobs")
    worker_parser.add_argument("--name", help="the worker's name in RQ (default: random)")
    worker_parser.add_argument(
        "--heartbeat", type=int, default=10, help="seconds between a busy worker's heartbeats (default 10)"
    )
    worker_parser.add_argument(
        "--heartbeat-grace",
        type=int,
        default=60,
        help="seconds a heartbeat may be late before RQ retries the job elsewhere (default 60)",
    )
    bundle_parser = commands.add_parser(
        "bundle", help="instructors: build what students receive (release notebooks, no grader, no source/)"
    )
    bundle_parser.add_argument("destination", type=Path, help="a new or empty folder")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="report binaries, versions, TLS support and what is missing")
    setup_parser = commands.add_parser(
        "setup", help="used by scripts/bootstrap: what to install, is Redis usable"
    )
    setup_parser.add_argument("what", choices=["apt-packages", "check"])
    clean_parser = commands.add_parser("clean", help="remove sandbox leftovers of dead processes")
    clean_parser.add_argument(
        "--force", action="store_true", help="also stop servers whose owner is alive (all of them)"
    )
    refresh_parser = commands.add_parser(
        "refresh", help="maintainers: re-execute source notebooks and keep only compared outputs"
    )
    refresh_parser.add_argument("paths", nargs="*", type=Path, help="default: every source notebook")
    release_parser = commands.add_parser(
        "release", help="maintainers: regenerate release/ from source/ with nbgrader"
    )
    release_parser.add_argument("modules", nargs="*", help="default: every module with a source folder")
    _add_grading_parsers(commands)
    args = parser.parse_args(argv)
    if args.command in (*GRADING_COMMANDS, "refresh", "release"):
        _require_grader(args.command)
    if args.command in GRADING_COMMANDS:
        return GRADING_COMMANDS[args.command](args)
    if args.command == "doctor":
        return doctor()
    if args.command == "setup":
        from course.sandbox.install import setup

        return setup(args.what)
    if args.command in ("refresh", "release"):
        from course.grader import authoring as notebooks  # nbclient and nbgrader load only for maintainers
    if args.command == "refresh":
        for path in args.paths or notebooks.source_notebooks():
            print(f"refreshing {path}")
            notebooks.refresh(path)
        return 0
    if args.command == "release":
        notebooks.release(tuple(args.modules))
        return 0
    return clean(force=args.force)


if __name__ == "__main__":
    raise SystemExit(main())
