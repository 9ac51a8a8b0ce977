"""Students' names in the gradebook, so the Formgrader lists "Lovelace, Ada" instead of "None, None".

nbgrader's exchange knows a student only by the id they submitted under, and neither ``collect``
nor ``autograde`` records a name. The class grader registers every student it grades: with the
names of ``students.csv`` in the course root if the student is there (the file
``nbgrader db student import`` reads: ``id,first_name,last_name,email``), otherwise, for a student
the gradebook has no name for, the id itself as the last name. Names an instructor typed in the
Formgrader stay as they are unless the roster says otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from course.grader.gradebook import db_url, quiet

ROSTER_FILE = "students.csv"
FIELDS = ("first_name", "last_name", "email")


def read_roster(root: Path) -> dict[str, dict[str, str | None]]:
    """The roster's rows by student id (empty if there is no roster)."""
    path = root / ROSTER_FILE
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {}
        for row in csv.DictReader(handle):
            student = (row.get("id") or "").strip()
            if student:
                rows[student] = {name: (row.get(name) or "").strip() or None for name in FIELDS}
        return rows


def register_students(db: Path, students: Iterable[str], roster: dict[str, dict[str, str | None]]) -> None:
    """Create or name each of ``students`` in the gradebook ``db``."""
    from nbgrader.api import Gradebook, MissingEntry

    with quiet(), Gradebook(db_url(db)) as gradebook:
        for student in sorted(set(students)):
            listed = roster.get(student)
            if listed is not None:
                gradebook.update_or_create_student(student, **listed)
                continue
            try:
                known = gradebook.find_student(student)
            except MissingEntry:
                known = None
            if known is None or (known.first_name is None and known.last_name is None):
                gradebook.update_or_create_student(student, last_name=student, first_name="")
