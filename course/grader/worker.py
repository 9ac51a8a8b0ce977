"""A long-lived grading process: nbgrader loads once, then grades submission after submission.

Starting ``python -m nbgrader`` costs seconds of imports before any notebook runs, twice per
submission (``autograde``, then ``generate_feedback``). A :class:`GradingWorker` starts this module
once per parallel job; for each submission it runs both nbgrader apps in-process, exactly as the
command line would (same configuration file, same preprocessors), in that submission's private
course folder. Each submission still gets a fresh kernel: nbgrader starts one per notebook.

Protocol: one JSON task per line on stdin (``{"work", "module", "student"}``), one marked JSON line
per task on stdout, so a stray print can never be mistaken for a result. Past a submission's time
limit the parent kills the worker's whole tree (kernel and servers included) and starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from io import StringIO
from pathlib import Path
from typing import IO, Any

from course.grader.processes import kill_tree, nbgrader_env
from course.grader.sandbox import GradingLogs, RunnerDied

RESULT_MARKER = "@@course-grading-result@@ "
#: The kernel manager whose kernels are forked from a warm parent (course.grader.kernels).
FORKED_KERNELS = "course.grader.kernels.ForkedKernelManager"
#: How long an idle worker may take to end once its input is closed.
CLOSE_SECONDS = 10


def nbgrader_in_process(args: list[str]) -> tuple[int, str]:
    """Run ``nbgrader ARGS`` in this process, from the current folder; (exit code, log)."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app = NbGraderApp.instance()
    log = StringIO()
    code = 0
    try:
        app.initialize(args)
        app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
        app.start()
    except NoStart:  # what the top-level app raises once its subcommand has run
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Exception:
        code = 1
        log.write(traceback.format_exc())
    finally:
        app.reset()  # nbgrader's own tests run its apps in-process the same way
    return code, log.getvalue()


def grade(task: dict[str, Any]) -> dict[str, Any]:
    """Autograde one submission and, if that worked, write its feedback."""
    os.chdir(task["work"])
    who = [task["module"], "--student", task["student"], "--force"]
    kernels = [f"--Execute.kernel_manager_class={FORKED_KERNELS}"] if task.get("fork_kernels") else []
    code, log = nbgrader_in_process(["autograde", *who, *kernels])
    result: dict[str, Any] = {"code": code, "log": log, "feedback_code": None, "feedback_log": ""}
    if code == 0:
        result["feedback_code"], result["feedback_log"] = nbgrader_in_process(["generate_feedback", *who])
    return result


def main() -> None:
    import nbgrader.apps.nbgraderapp  # noqa: F401 - loaded once, before the first submission

    if "--fork-kernels" in sys.argv:
        from course.grader.kernels import ZYGOTE, preload

        preload()
        ZYGOTE.start()  # while this process is still single-threaded

    for line in sys.stdin:
        result = grade(json.loads(line))
        sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
        sys.stdout.flush()
    if "--fork-kernels" in sys.argv:
        ZYGOTE.close()


class GradingWorker:
    """The parent's handle on one worker process (started on first use, replaced after a kill)."""

    def __init__(self, *, fork_kernels: bool = True) -> None:
        self.fork_kernels = fork_kernels
        self._process: subprocess.Popen[str] | None = None
        self._results: queue.Queue[str | None] = queue.Queue()
        self._errors: IO[str] | None = None
        self.started = 0  # processes started, for the benchmark and the tests

    def _start(self) -> subprocess.Popen[str]:
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the worker
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "course.grader.worker",
                *(["--fork-kernels"] if self.fork_kernels else []),
            ],
            env=nbgrader_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            start_new_session=True,
        )
        self.started += 1
        self._results = queue.Queue()
        threading.Thread(target=self._read, args=(process, self._results), daemon=True).start()
        return process

    @staticmethod
    def _read(process: subprocess.Popen[str], results: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(RESULT_MARKER):
                results.put(line[len(RESULT_MARKER) :])
        results.put(None)  # the worker ended

    def grade(self, work: Path, module: str, student: str, deadline: float) -> GradingLogs | None:
        """What nbgrader said about one submission, or ``None`` if it ran past ``deadline``."""
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._process = self._start()
        assert self._process.stdin is not None
        if self._errors is not None:  # keep only this submission's messages (shared file offset)
            self._errors.seek(0)
            self._errors.truncate()
        task = {"work": str(work), "module": module, "student": student, "fork_kernels": self.fork_kernels}
        try:
            self._process.stdin.write(json.dumps(task) + "\n")
            self._process.stdin.flush()
            line = self._results.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.close(kill=True)  # a hung kernel: kill the worker, its kernel and its servers
            return None
        except OSError:
            line = None
        if line is None:
            errors = self._error_tail()
            self.close(kill=True)
            raise RunnerDied(f"the grading worker exited: {errors or 'no message'}")
        result = json.loads(line)
        return GradingLogs(result["code"], result["log"], result["feedback_code"], result["feedback_log"])

    def _error_tail(self) -> str:
        if self._errors is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._errors.seek(0)
            return self._errors.read()[-2000:].strip()
        return ""

    def close(self, *, kill: bool = False) -> None:
        """Stop the worker (idempotent): an idle one ends when its input closes; ``kill`` (or a
        worker that does not end) kills it and everything it started."""
        if self._process is not None:
            with contextlib.suppress(OSError, ValueError):
                if self._process.stdin:
                    self._process.stdin.close()
            if not kill:
                try:
                    self._process.wait(CLOSE_SECONDS)
                except subprocess.TimeoutExpired:
                    kill = True
            if kill:
                kill_tree(self._process.pid)
                self._process.wait()
            self._process = None
        if self._errors is not None:
            self._errors.close()
            self._errors = None


if __name__ == "__main__":
    main()
