"""nbgrader configuration for the Redis Advanced Concepts course.

Start JupyterLab (and run nbgrader) from this directory: nbgrader reads the config from the
directory the server was started in.

Grading has one path: the course's mending and feedback steps are nbgrader preprocessors and a
hook configured here, so ``nbgrader autograde`` / ``generate_feedback``, the Formgrader and
``python -m course grade`` (which runs these same nbgrader apps) give the same scores and feedback.
Each mending step logs a ``course-grader mended ...`` line (see ``course/grader/markers.py``).
"""

import importlib.util
import sys
from pathlib import Path

course_root = Path(__file__).resolve().parent
sys.path.insert(0, str(course_root))

from course.settings import CELL_TIMEOUT_SECONDS  # noqa: E402

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - injected by traitlets

c.CourseDirectory.root = str(course_root)
c.CourseDirectory.course_id = "redis-advanced"

# A default install's exchange (/usr/local/share/nbgrader/exchange) is not writable for a
# normal user: keep it inside the course (it is git-ignored). nbgrader refuses to release or
# collect until the folder exists, so create it here, for every nbgrader entry point.
exchange = course_root / "exchange"
exchange.mkdir(exist_ok=True)
c.Exchange.root = str(exchange)

# One timeout for every executor: nbval uses the same number (tests/conftest.py).
c.Execute.timeout = CELL_TIMEOUT_SECONDS
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The grader's steps; a copy of the course without course/grader (a student's) grades as plain nbgrader.
if importlib.util.find_spec("course.grader") is not None:
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        Execute,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from course.grader.duplicates import DeduplicateGradeIds, ReportDuplicatedCellIds
    from course.grader.feedback import HideHiddenTests, HideTestTracebacks
    from course.grader.hooks import before_grading
    from course.grader.outputs import LimitOutputCharacters
    from course.grader.restore import RestoreDeletedCells

    # Before nbgrader looks for the notebooks: `pubsub (1).ipynb` is graded as pubsub.ipynb, and the
    # student gets their name from students.csv (the Formgrader lists names, not "None, None").
    c.Autograde.pre_convert_hook = before_grading
    # nbgrader's default lists, with the course's steps (marked) in place.
    c.Autograde.sanitize_preprocessors = [
        ClearOutput,
        ReportDuplicatedCellIds,  # course: nbformat renamed duplicated cell ids; say so
        DeduplicateGradeIds,  # nbgrader's DeduplicateIds, logged
        OverwriteKernelspec,
        RestoreDeletedCells,  # course: put back deleted locked and graded cells
        OverwriteCells,
        CheckCellMetadata,
    ]
    c.Autograde.autograde_preprocessors = [
        Execute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        LimitOutputCharacters,  # course: LimitOutput counts lines; a 30 MB line passes it
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [
        GetGrades,
        HideTestTracebacks,  # course: no traceback frame quotes a test cell
        HideHiddenTests,  # course: no hidden test in feedback
        CSSHTMLHeaderPreprocessor,
    ]
