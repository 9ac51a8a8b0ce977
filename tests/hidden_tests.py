"""Searching feedback for hidden tests: the lines to look for, and an HTML page as the text it shows."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from nbformat import NotebookNode

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
#: How IPython quotes source in a traceback: "----> 12 code" or "     11 code".
TRACEBACK_GUTTER = re.compile(r"^(?:-*>\s*)?\d+\s+")


def split_hidden(notebook: NotebookNode) -> tuple[list[str], set[str]]:
    """(every non-blank line inside a hidden block, stripped; every stripped line outside them)."""
    hidden: list[str] = []
    visible: set[str] = set()
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            elif inside and line.strip():
                hidden.append(line.strip())
            else:
                visible.add(line.strip())
    return hidden, visible


def secret_lines(notebook: NotebookNode, *written: NotebookNode) -> list[str]:
    """Every non-blank line of every hidden block of ``notebook``, except those also written
    outside one, in it or in the ``written`` notebooks (a student's submission): feedback shows
    those lines where they were written, so finding them would prove nothing."""
    hidden, visible = split_hidden(notebook)
    for other in written:
        visible |= split_hidden(other)[1]
    return [line for line in dict.fromkeys(hidden) if line not in visible]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skipping += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skipping -= tag in ("style", "script") and self._skipping > 0

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def page_lines(html: str) -> set[str]:
    """The stripped lines a browser shows for ``html`` (highlighting spans and entities undone),
    and each of them without a traceback's line-number gutter."""
    parser = _Text()
    parser.feed(html)
    lines = {line.strip() for line in "".join(parser.parts).splitlines()}
    return lines | {TRACEBACK_GUTTER.sub("", line) for line in lines}


def leaked(html: str, secrets: list[str]) -> list[str]:
    """The secret lines a feedback page shows."""
    shown = page_lines(html)
    return [line for line in secrets if line in shown]
