"""nbgrader configuration for the Redis Advanced Concepts course.

Start JupyterLab (and run nbgrader) from this directory: nbgrader reads the config from the
directory the server was started in.
"""

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
