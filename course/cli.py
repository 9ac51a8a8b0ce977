"""``python -m course COMMAND``: doctor, clean, and the maintainer's notebook tools."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from course import notebooks
from course.binaries import TOOLS, RedisNotFoundError, find_redis
from course.servers import RedisStartError, start_server, sweep_leftovers
from course.settings import MODULES, sandbox_root

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
        print(f"redis      MISSING\n{error}")
        return 1
    print(f"Redis      {binaries.version_text}, TLS {'yes' if binaries.tls else 'no (05_security needs it)'}")
    for tool in TOOLS:
        path = binaries.server if tool == "redis-server" else binaries.tools.get(tool)
        print(f"  {tool:<16} {path or 'MISSING'}")
        if path is None:
            problems.append(f"{tool} is missing: lessons that run it will stop with a message.")
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


def clean(force: bool = False) -> int:
    """Remove sandbox directories (and servers) left by dead processes; ``force``: all of them."""
    removed = sweep_leftovers(force=force)
    print(f"Removed {len(removed)} leftover sandbox director{'y' if len(removed) == 1 else 'ies'}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="report binaries, versions, TLS support and what is missing")
    clean_parser = commands.add_parser("clean", help="remove sandbox leftovers of dead processes")
    clean_parser.add_argument(
        "--force", action="store_true", help="also stop servers whose owner is alive (all of them)"
    )
    refresh_parser = commands.add_parser(
        "refresh", help="maintainers: re-execute source notebooks and keep only compared outputs"
    )
    refresh_parser.add_argument("notebooks", nargs="*", type=Path, help="default: every source notebook")
    release_parser = commands.add_parser(
        "release", help="maintainers: regenerate release/ from source/ with nbgrader"
    )
    release_parser.add_argument("modules", nargs="*", help="default: every module with a source folder")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor()
    if args.command == "refresh":
        for path in args.notebooks or notebooks.source_notebooks():
            print(f"refreshing {path}")
            notebooks.refresh(path)
        return 0
    if args.command == "release":
        notebooks.release(tuple(args.modules) or MODULES)
        return 0
    return clean(force=args.force)


if __name__ == "__main__":
    raise SystemExit(main())
