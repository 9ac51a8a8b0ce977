"""The README's layout section is the tree: every entry exists and every module of course/ is listed."""

from __future__ import annotations

import re
from pathlib import Path

from course.settings import COURSE_ROOT

INDENT = 2


def layout_entries(readme: str) -> list[Path]:
    """Paths named in the fenced block under ``## Layout``, nesting read from the indentation."""
    section = readme.split("\n## Layout", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block, "the Layout section has no code block"
    entries: list[Path] = []
    parents: list[tuple[int, Path]] = []  # (indent, folder)
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        name = line.split()[0]
        while parents and parents[-1][0] >= indent:
            parents.pop()
        base = parents[-1][1] if parents else Path()
        path = base / name.rstrip("/")
        entries.append(path)
        if name.endswith("/"):
            parents.append((indent, path))
    return entries


def test_every_entry_of_the_layout_exists() -> None:
    entries = layout_entries((COURSE_ROOT / "README.md").read_text())
    missing = [str(path) for path in entries if not (COURSE_ROOT / path).exists()]
    assert not missing, f"the README's layout names paths that do not exist: {missing}"


def test_every_module_and_folder_of_the_package_is_in_the_layout() -> None:
    listed = set(layout_entries((COURSE_ROOT / "README.md").read_text()))
    package = COURSE_ROOT / "course"
    wanted = {
        path.relative_to(COURSE_ROOT)
        for path in package.rglob("*")
        if "__pycache__" not in path.parts
        and (path.is_dir() or (path.suffix == ".py" and path.name not in ("__init__.py", "__main__.py")))
    }
    unlisted = sorted(str(path) for path in wanted - listed)
    assert not unlisted, f"the README's layout does not mention: {unlisted}"


def test_the_parser_reads_nesting_from_indentation() -> None:
    block = "a/         x\n  b.py       y\n  c/         z\n    d.py     w\ne.md       v\n"
    readme = f"intro\n## Layout\n\n```\n{block}```\n"
    assert layout_entries(readme) == [Path("a"), Path("a/b.py"), Path("a/c"), Path("a/c/d.py"), Path("e.md")]
