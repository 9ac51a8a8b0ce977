"""A long-lived process that runs ``nbgrader autograde`` in-process, one submission per request.

Starting nbgrader costs seconds of imports; a class grader that starts it once per worker
instead of once per submission grades several times faster. The protocol is one JSON line in
(``{"work": ..., "module": ..., "student": ...}``) and one marked JSON line out
(``{"code": ..., "log": ...}``) per submission, so stray prints cannot be mistaken for a result.
The parent kills the whole process tree when a submission runs past its time limit.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from io import StringIO

RESULT_MARKER = "@@course-autograde-result@@ "


def autograde_in_process(work: str, module: str, student: str) -> tuple[int, str]:
    """Run ``nbgrader autograde MODULE --student STUDENT --force`` in ``work``; (exit code, log)."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    os.chdir(work)
    app = NbGraderApp.instance()
    log = StringIO()
    code = 0
    try:
        app.initialize(["autograde", module, "--student", student, "--force"])
        app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
        app.start()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Exception:
        code = 1
        log.write(traceback.format_exc())
    finally:
        app.reset()  # nbgrader's own tests run apps in-process the same way
    return code, log.getvalue()


def main() -> None:
    for line in sys.stdin:
        task = json.loads(line)
        code, log = autograde_in_process(task["work"], task["module"], task["student"])
        sys.stdout.write(RESULT_MARKER + json.dumps({"code": code, "log": log}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
