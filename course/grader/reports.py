"""The class grader's reports in ``grades/``: grades.csv, exercises.csv, report.csv, distribution.png.

``grades.csv`` and ``exercises.csv`` come from the gradebook (every graded submission so far);
``report.csv`` describes this run (status, seconds and reasons of each submission).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from course.grader.gradebook import db_url

GRADES_COLUMNS = ["student", "module", "score", "max_score"]
# A module may hold several notebooks, and a grade id is unique only within its notebook.
EXERCISE_COLUMNS = ["student", "module", "notebook", "exercise", "score", "max_score"]
REPORT_COLUMNS = ["student", "module", "status", "score", "max_score", "seconds", "reasons"]


class Reported(Protocol):
    student: str
    module: str
    status: str
    score: float | None
    max_score: float | None
    seconds: float
    reasons: list[str]


def gradebook_tables(db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per student and module, one row per graded cell) from the gradebook."""
    from nbgrader.api import Gradebook

    rows, exercises = [], []
    with Gradebook(db_url(db)) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                student = submission.student.id
                rows.append([student, assignment.name, submission.score, submission.max_score])
                exercises += [
                    [student, assignment.name, notebook.name, grade.name, grade.score, grade.max_score]
                    for notebook in submission.notebooks
                    for grade in notebook.grades
                ]
    grades = pd.DataFrame(rows, columns=GRADES_COLUMNS).sort_values(["module", "student"])
    table = pd.DataFrame(exercises, columns=EXERCISE_COLUMNS).sort_values(
        ["module", "student", "notebook", "exercise"]
    )
    return grades, table


def write_reports(db: Path, folder: Path, outcomes: Sequence[Reported]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    grades, exercises = gradebook_tables(db)
    grades.to_csv(folder / "grades.csv", index=False)
    exercises.to_csv(folder / "exercises.csv", index=False)
    report = pd.DataFrame(
        [
            [o.student, o.module, o.status, o.score, o.max_score, round(o.seconds, 1), "; ".join(o.reasons)]
            for o in outcomes
        ],
        columns=REPORT_COLUMNS,
    )
    report.sort_values(["module", "student"]).to_csv(folder / "report.csv", index=False)
    plot_distribution(grades, folder / "distribution.png")


def plot_distribution(grades: pd.DataFrame, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course.plotting import figure

    fig, (ax,) = figure("Score distribution per module", "score (% of the module's points)", "students")
    for module, scores in grades.groupby("module"):
        percent = 100 * scores["score"] / scores["max_score"].where(scores["max_score"] > 0, 1)
        ax.hist(percent, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001], alpha=0.6, label=str(module))
    if not grades.empty:
        ax.legend()
    fig.savefig(target)
    plt.close(fig)
