"""The per-exercise table keeps apart grade cells of the same id in two notebooks of one module."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook

from course.grader.gradebook import db_url
from course.grader.reports import gradebook_tables


def test_a_grade_id_in_two_notebooks_of_a_module_gives_two_rows(tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    with Gradebook(db_url(db)) as gradebook:
        gradebook.add_assignment("02_cluster")
        for notebook, points in (("cluster", 3.0), ("replication", 2.0)):
            gradebook.add_notebook(notebook, "02_cluster")
            gradebook.add_grade_cell(
                "part-a-tests", notebook, "02_cluster", max_score=points, cell_type="code"
            )
        gradebook.add_student("ada")
        gradebook.add_submission("02_cluster", "ada")
        submission = gradebook.find_submission("02_cluster", "ada")
        gradebook.find_grade("part-a-tests", "replication", "02_cluster", "ada").auto_score = 2.0
        gradebook.db.commit()
        assert submission.score == 2.0

    grades, exercises = gradebook_tables(db)
    assert grades.to_dict("records") == [
        {"student": "ada", "module": "02_cluster", "score": 2.0, "max_score": 5.0}
    ]
    rows = exercises[["notebook", "exercise", "score", "max_score"]].to_dict("records")
    assert rows == [
        {"notebook": "cluster", "exercise": "part-a-tests", "score": 0.0, "max_score": 3.0},
        {"notebook": "replication", "exercise": "part-a-tests", "score": 2.0, "max_score": 2.0},
    ]
