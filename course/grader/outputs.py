"""Cut huge outputs by characters: nbgrader's ``LimitOutput`` only counts lines.

A single ``print("x" * 30_000_000)`` is one line: ``LimitOutput`` keeps all 30 MB, which then sit in
the autograded notebook, the gradebook's copy and the feedback page. :class:`LimitOutputCharacters`
runs after it and cuts every text of an output (a stream, a rich result's text forms, an error's
value and traceback) to ``max_chars``, keeping what decides the grade: the output's type and stream
name (nbgrader scores a test cell zero on an error or on text written to stderr).
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from course.grader.markers import log_mended

CUT_NOTE = "\n[... {cut} characters cut by the grader ...]\n"


def cut(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to ``limit`` characters plus a note saying how much went; (text, characters cut)."""
    if len(text) <= limit:
        return text, 0
    removed = len(text) - limit
    return text[:limit] + CUT_NOTE.format(cut=removed), removed


def _cut_value(value: Any, limit: int) -> tuple[Any, int]:
    if isinstance(value, str):
        return cut(value, limit)
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        text, removed = cut("".join(value), limit)
        return (text if removed else value), removed
    return value, 0


def cut_lines(lines: list[str], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` characters of ``lines`` (the last kept line cut), then a note."""
    total = sum(len(line) for line in lines)
    if total <= limit:
        return lines, 0
    kept, budget = [], limit
    for line in lines:
        if len(line) > budget:
            kept.append(line[:budget])
            break
        kept.append(line)
        budget -= len(line)
    kept.append(CUT_NOTE.format(cut=total - limit).strip())
    return kept, total - limit


def limit_output(output: NotebookNode, limit: int) -> int:
    """Cut one output in place; return the number of characters removed."""
    removed = 0
    kind = output.get("output_type")
    if kind == "stream":
        output["text"], removed = _cut_value(output.get("text", ""), limit)
    elif kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        for mime in list(data):
            if mime.startswith("text/") or mime == "application/json":
                data[mime], gone = _cut_value(data[mime], limit)
            elif len(str(data[mime])) > limit:  # an image or other blob: cutting would corrupt it
                gone = len(str(data.pop(mime)))
                data.setdefault("text/plain", f"[a {mime} output of {gone} characters was removed]")
            else:
                gone = 0
            removed += gone
    elif kind == "error":
        output["evalue"], removed = _cut_value(output.get("evalue", ""), limit)
        output["traceback"], gone = cut_lines(output.get("traceback", []), limit)
        removed += gone
    return removed


class LimitOutputCharacters(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Autograding step: cut every output text to ``max_chars`` characters."""

    max_chars = Integer(100_000, help="maximum characters kept of each output text").tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        removed = sum(limit_output(output, self.max_chars) for output in cell.get("outputs", []))
        if removed:
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id") or f"#{index}"
            log_mended(
                self.log,
                resources["nbgrader"]["notebook"],
                f"cut {removed} characters of output from cell {name} (over {self.max_chars} per output)",
            )
        return cell, resources
