"""Grade a whole class: every module, every student, in parallel, each submission in its own sandbox.

``python -m course grade`` finds submissions in nbgrader's layout (``submitted/<student>/<module>/``)
or in a zip of them, and for each one:

1. *prepares* it: refuses what is not a notebook, renames a single misnamed notebook, mends
   duplicated cell or grade ids, and puts back graded test cells a student deleted (nbgrader
   restores edited test cells itself, but scores deleted ones as missing);
2. *autogrades* it with the real ``nbgrader autograde`` in a private copy of the course (its own
   gradebook, its own kernel and Redis servers), under a wall-clock limit; the whole process tree
   is killed when the limit passes;
3. *merges* the grades into the course's gradebook from this process only, so parallel jobs never
   meet on the SQLite database;
4. writes the autograded notebook (huge outputs truncated) and feedback HTML without hidden tests.

Outputs land in ``grades/``: ``grades.csv``, ``exercises.csv``, ``report.csv`` (one row per
submission with its status and reasons) and ``distribution.png``. Unchanged submissions are not
graded again unless asked (``--force`` or ``--student``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
import pandas as pd
import psutil
from nbformat import NotebookNode

from course.grader.worker import RESULT_MARKER
from course.settings import CELL_TIMEOUT_SECONDS, COURSE_ROOT, SUBMISSION_TIMEOUT_SECONDS, modules

MAX_OUTPUT_CHARS = 100_000
STATE_FILE = ".course-grading.json"


@dataclass
class Outcome:
    """What happened to one submission: its status, the reasons, and its score."""

    student: str
    module: str
    status: str = "graded"  # graded | rejected | timed out | unchanged
    reasons: list[str] = field(default_factory=list)
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    grades: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    student: str
    module: str
    folder: Path


class Rejected(Exception):
    """A submission that cannot be graded; the message says why."""


# -- finding submissions -----------------------------------------------------------------------


def extract_zip(archive: Path, submitted: Path) -> list[str]:
    """Unpack ``<student>/<module>/<file>`` entries (optionally under ``submitted/``) safely."""
    unpacked = []
    with zipfile.ZipFile(archive) as bundle:
        for entry in bundle.infolist():
            if entry.is_dir():
                continue
            parts = PurePosixPath(entry.filename).parts
            if parts and parts[0] == "submitted":
                parts = parts[1:]
            if len(parts) != 3 or any(part in ("", ".", "..") or "\\" in part for part in parts):
                continue  # not <student>/<module>/<file>, or an attempt to escape the folder
            target = submitted.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bundle.read(entry))
            unpacked.append("/".join(parts))
    return unpacked


def find_submissions(root: Path, modules: Sequence[str], students: Sequence[str] = ()) -> list[Submission]:
    submitted = root / "submitted"
    found = []
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []:
        if students and student_dir.name not in students:
            continue
        for module in modules:
            folder = student_dir / module
            if folder.is_dir():
                found.append(Submission(student_dir.name, module, folder))
    return found


# -- preparing a submission --------------------------------------------------------------------


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta: dict[str, Any] = cell.get("metadata", {}).get("nbgrader", {})
    return meta


def read_notebook(path: Path) -> tuple[NotebookNode, list[str]]:
    """Read a submitted notebook; nbformat silently renames duplicated cell ids, so report them."""
    try:
        text = path.read_text()
        raw = json.loads(text)
        cell_ids = [cell.get("id") for cell in raw.get("cells", []) if isinstance(cell, dict)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DuplicateCellId and friends: reported below
            notebook: NotebookNode = nbformat.reads(text, as_version=4)
    except Exception as error:  # JSON, encoding, validation and version errors alike
        raise Rejected(f"{path.name} is not a valid notebook ({type(error).__name__}: {error})") from None
    duplicated = sorted({i for i in cell_ids if i is not None and cell_ids.count(i) > 1})
    return notebook, [f"renamed duplicated cell id {cell_id!r}" for cell_id in duplicated]


def prepare_notebook(notebook: NotebookNode, source: NotebookNode) -> list[str]:
    """Mend a submitted notebook in place; return what was changed, for the report."""
    notes: list[str] = []
    seen_ids: set[str] = set()
    seen_grade_ids: set[str] = set()
    kept = []
    for index, cell in enumerate(notebook.cells):
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id is not None:
            if grade_id in seen_grade_ids:
                notes.append(f"removed a duplicated copy of graded cell {grade_id}")
                continue
            seen_grade_ids.add(grade_id)
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen_ids:
            cell["id"] = f"{cell_id or 'cell'}-dup{index}"
            notes.append(f"renamed duplicated cell id {cell_id!r}")
        seen_ids.add(cell["id"])
        kept.append(cell)
    notebook.cells = kept

    present = {_nbgrader(c).get("grade_id") for c in notebook.cells}
    previous_id: str | None = None
    for cell in source.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and meta.get("locked") and meta.get("grade_id") not in present:
            restored = nbformat.from_dict(cell)
            restored.outputs, restored.execution_count = [], None
            position = next(
                (i + 1 for i, c in enumerate(notebook.cells) if previous_id and c.get("id") == previous_id),
                len(notebook.cells),
            )
            notebook.cells.insert(position, restored)
            notes.append(f"restored deleted test cell {meta['grade_id']}")
        previous_id = cell.get("id")
    return notes


def prepare(submission: Submission, release: Path, source: Path, target: Path) -> list[str]:
    """Write the mended submission into ``target``; raise :class:`Rejected` if impossible."""
    expected = sorted(p.name for p in release.glob("*.ipynb"))
    present = sorted(p.name for p in submission.folder.glob("*.ipynb"))
    notes: list[str] = []
    names = {name: name for name in expected if name in present}
    missing = [name for name in expected if name not in names]
    extra = [name for name in present if name not in expected]
    if missing and len(missing) == 1 and len(extra) == 1:
        names[missing[0]] = extra[0]
        notes.append(f"graded {extra[0]} as {missing[0]} (wrong notebook name)")
    elif missing:
        raise Rejected(f"no notebook named {', '.join(missing)} (found: {', '.join(present) or 'nothing'})")
    target.mkdir(parents=True, exist_ok=True)
    for expected_name, actual_name in names.items():
        notebook, read_notes = read_notebook(submission.folder / actual_name)
        notes += read_notes
        notes += prepare_notebook(notebook, nbformat.read(source / expected_name, as_version=4))
        nbformat.write(notebook, target / expected_name)
    for other in submission.folder.iterdir():  # data files a notebook reads travel with it
        if other.is_file() and other.suffix != ".ipynb":
            shutil.copy(other, target / other.name)
    return notes


# -- running nbgrader in a sandbox -------------------------------------------------------------


def _kill_tree(process: subprocess.Popen[str]) -> None:
    """Kill nbgrader, its kernel (its own session) and the kernel's servers."""
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, psutil.Process(process.pid)] if process.poll() is None else family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    process.wait()
    psutil.wait_procs(family, timeout=5)


def nbgrader_env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_nbgrader(args: Sequence[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run ``nbgrader ARGS``; return (exit code or None on timeout, combined output)."""
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=cwd,
            env=nbgrader_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            code: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_tree(process)
        output.seek(0)
        return code, output.read()


class AutogradeWorker:
    """One long-lived ``course.grader.worker`` process: nbgrader loads once, grades many."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    def _start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "course.grader.worker"],
            env=nbgrader_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._lines = queue.Queue()
        threading.Thread(target=self._read, args=(process, self._lines), daemon=True).start()
        return process

    @staticmethod
    def _read(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(RESULT_MARKER):
                lines.put(line[len(RESULT_MARKER) :])
        lines.put(None)  # the worker ended

    def autograde(self, work: Path, module: str, student: str, timeout: float) -> tuple[int | None, str]:
        """Grade one submission; (exit code, log), or (None, "") when it ran past ``timeout``."""
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        assert self._process.stdin is not None
        task = {"work": str(work), "module": module, "student": student}
        self._process.stdin.write(json.dumps(task) + "\n")
        self._process.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close()  # a hung kernel: kill the worker, its kernel and its servers
            return None, ""
        if line is None:
            self.close()
            return 1, "DeadKernelError: the grading worker itself died"
        result = json.loads(line)
        return int(result["code"]), str(result["log"])

    def close(self) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError, ValueError):
                if self._process.stdin:
                    self._process.stdin.close()
            _kill_tree(self._process)
            self._process = None


def _sandbox_course(root: Path, module: str, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", work)
    shutil.copy(root / "gradebook.db", work)
    shutil.copytree(root / "source" / module, work / "source" / module)


def _truncate_outputs(notebook: NotebookNode) -> int:
    truncated = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text")
            if isinstance(text, str) and len(text) > MAX_OUTPUT_CHARS:
                output["text"] = (
                    text[:MAX_OUTPUT_CHARS] + f"\n[... {len(text) - MAX_OUTPUT_CHARS} characters cut]\n"
                )
                truncated += 1
    return truncated


def notes_from_notebook(notebook: NotebookNode) -> list[str]:
    """Notes on cells that were stopped or exited, from a graded notebook."""
    reasons = []
    for cell in notebook.cells:
        name = _nbgrader(cell).get("grade_id") or cell.get("id")
        for output in cell.get("outputs", []):
            if output.get("ename") == "CellTimeoutError":
                reasons.append(f"cell {name} ran longer than {CELL_TIMEOUT_SECONDS} s and was stopped")
            elif output.get("ename") == "SystemExit":
                reasons.append(f"cell {name} called sys.exit(), which stopped that cell")
    return reasons


# -- merging into the course gradebook ---------------------------------------------------------


def merge_grades(
    main_db: Path, sandbox_db: Path, module: str, student: str
) -> tuple[float, float, dict[str, float]]:
    """Copy one submission's grades and comments from a sandbox gradebook into the course's."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{sandbox_db}") as source, Gradebook(f"sqlite:///{main_db}") as target:
        graded = source.find_submission(module, student)
        target.update_or_create_student(student)
        copy = target.update_or_create_submission(module, student, timestamp=graded.timestamp)
        per_cell: dict[str, float] = {}
        for notebook in graded.notebooks:
            for grade in notebook.grades:
                into = target.find_grade(grade.name, notebook.name, module, student)
                into.auto_score = grade.auto_score
                into.manual_score = grade.manual_score
                into.extra_credit = grade.extra_credit
                into.needs_manual_grade = grade.needs_manual_grade
                per_cell[grade.name] = float(grade.score)
            for comment in notebook.comments:
                into_comment = target.find_comment(comment.name, notebook.name, module, student)
                into_comment.auto_comment = comment.auto_comment
        target.db.commit()
        return float(copy.score), float(copy.max_score), per_cell


def zero_grades(main_db: Path, module: str, student: str) -> tuple[float, float, dict[str, float]]:
    """Record a submission that could not be graded as zero on every autograded cell."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{main_db}") as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(module, student)
        per_cell = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
                per_cell[grade.name] = 0.0
        gradebook.db.commit()
        return 0.0, float(submission.max_score), per_cell


# -- feedback without hidden tests -------------------------------------------------------------


def feedback_notebook(graded: NotebookNode, release: NotebookNode, outcome: Outcome) -> NotebookNode:
    """The graded notebook as a student may see it: test cells show only their visible part."""
    visible = {cell.get("id"): cell.source for cell in release.cells}
    visible_by_grade = {_nbgrader(c).get("grade_id"): c.source for c in release.cells if _nbgrader(c)}
    feedback = nbformat.from_dict(graded)
    for cell in feedback.cells:
        meta = _nbgrader(cell)
        if not (meta.get("grade") and meta.get("locked")):
            continue
        cell.source = visible_by_grade.get(meta.get("grade_id"), visible.get(cell.get("id"), ""))
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # Tracebacks quote the failing line, which may be a hidden test: keep the message.
                output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
    summary = [f"# Feedback: {outcome.module} for {outcome.student}", ""]
    summary.append(
        f"**Score: {outcome.score:g} / {outcome.max_score:g}**" if outcome.score is not None else ""
    )
    summary += ["", "| exercise | points |", "|---|---|"]
    summary += [f"| {name} | {points:g} |" for name, points in sorted(outcome.grades.items())]
    summary += [f"\n*Note:* {reason}" for reason in outcome.reasons]
    feedback.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(summary)))
    shown: NotebookNode = feedback
    return shown


def write_feedback_html(notebook: NotebookNode, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)


# -- the whole class ---------------------------------------------------------------------------


@dataclass
class ClassGrader:
    root: Path = COURSE_ROOT
    modules: Sequence[str] = ()  # default: every module of the course
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = SUBMISSION_TIMEOUT_SECONDS
    force: bool = False
    students: Sequence[str] = ()
    progress: bool = True
    scratch: Path | None = None  # where per-submission sandboxes go (default: the temp dir)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _workers: list[AutogradeWorker] = field(default_factory=list, init=False, repr=False)
    _workers_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def grades_dir(self) -> Path:
        return self.root / "grades"

    def _digest(self, submission: Submission) -> str:
        digest = hashlib.sha256()
        for path in sorted(submission.folder.iterdir()) + sorted(
            (self.root / "source" / submission.module).glob("*")
        ):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def _state(self) -> dict[str, str]:
        path = self.root / "autograded" / STATE_FILE
        try:
            state: dict[str, str] = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            state = {}
        return state

    def _save_state(self, state: dict[str, str]) -> None:
        path = self.root / "autograded" / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1, sort_keys=True))

    def ensure_gradebook(self, modules: Iterable[str]) -> None:
        """Register each module in the course gradebook without touching release/."""
        from nbgrader.api import Gradebook, MissingEntry

        db = self.root / "gradebook.db"
        for module in modules:
            if db.exists():
                with Gradebook(f"sqlite:///{db}") as gradebook:
                    try:
                        gradebook.find_assignment(module)
                        continue
                    except MissingEntry:
                        pass
            with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
                work = Path(scratch)
                shutil.copy(self.root / "nbgrader_config.py", work)
                shutil.copytree(self.root / "source" / module, work / "source" / module)
                code, log = run_nbgrader(
                    ["generate_assignment", module, "--force", f"--CourseDirectory.db_url=sqlite:///{db}"],
                    work,
                    timeout=300,
                )
                if code != 0:
                    raise RuntimeError(f"nbgrader generate_assignment {module} failed:\n{log[-2000:]}")

    def _worker(self) -> AutogradeWorker:
        """This thread's grading worker (started on first use, replaced after a timeout)."""
        worker: AutogradeWorker | None = getattr(self._local, "worker", None)
        if worker is None:
            worker = self._local.worker = AutogradeWorker()
            with self._workers_lock:
                self._workers.append(worker)
        return worker

    def grade_one(self, submission: Submission) -> tuple[Outcome, Path | None]:
        """Prepare and autograde one submission in a private sandbox (runs on a worker thread)."""
        outcome = Outcome(submission.student, submission.module)
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=f"course-grade-{submission.student}-", dir=self.scratch))
        try:
            _sandbox_course(self.root, submission.module, work)
            target = work / "submitted" / submission.student / submission.module
            outcome.reasons += prepare(
                submission,
                self.root / "release" / submission.module,
                work / "source" / submission.module,
                target,
            )
            code, log = run_nbgrader(
                ["autograde", submission.module, "--student", submission.student, "--force"],
                work,
                self.timeout,
            )
            graded_dir = work / "autograded" / submission.student / submission.module
            if code is None:
                outcome.status = "timed out"
                outcome.reasons.append(f"grading took longer than {self.timeout:g} s and was stopped")
                return outcome, None
            if code != 0 or not any(graded_dir.glob("*.ipynb")):
                raise Rejected(failure_reason(log))
            for path in graded_dir.glob("*.ipynb"):
                notebook = nbformat.read(path, as_version=4)
                outcome.reasons += notes_from_notebook(notebook)
                cut = _truncate_outputs(notebook)
                if cut:
                    outcome.reasons.append(f"{cut} huge output(s) were cut to {MAX_OUTPUT_CHARS} characters")
                    path.chmod(0o644)
                    nbformat.write(notebook, path)
            return outcome, work
        except Rejected as error:
            outcome.status = "rejected"
            outcome.reasons.append(str(error))
            return outcome, None
        finally:
            outcome.seconds = time.monotonic() - started
            if outcome.status != "graded":
                shutil.rmtree(work, ignore_errors=True)

    def _merge(self, submission: Submission, outcome: Outcome, work: Path | None) -> None:
        db = self.root / "gradebook.db"
        if work is None:
            outcome.score, outcome.max_score, outcome.grades = zero_grades(
                db, submission.module, submission.student
            )
            return
        try:
            outcome.score, outcome.max_score, outcome.grades = merge_grades(
                db, work / "gradebook.db", submission.module, submission.student
            )
            graded = work / "autograded" / submission.student / submission.module
            destination = self.root / "autograded" / submission.student / submission.module
            if destination.exists():
                for path in destination.rglob("*"):
                    path.chmod(0o755 if path.is_dir() else 0o644)
                shutil.rmtree(destination)
            shutil.copytree(graded, destination)
            release = self.root / "release" / submission.module
            for path in destination.glob("*.ipynb"):
                notebook = nbformat.read(path, as_version=4)
                shown = feedback_notebook(notebook, nbformat.read(release / path.name, as_version=4), outcome)
                html = self.root / "feedback" / submission.student / submission.module / f"{path.stem}.html"
                write_feedback_html(shown, html)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def run(self, notify: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        wanted = [m for m in self.modules or modules(self.root) if (self.root / "source" / m).is_dir()]
        submissions = find_submissions(self.root, wanted, self.students)
        self.ensure_gradebook({s.module for s in submissions})
        state = self._state()
        outcomes: list[Outcome] = []
        todo = []
        for submission in submissions:
            key = f"{submission.student}/{submission.module}"
            digest = self._digest(submission)
            if not self.force and not self.students and state.get(key) == digest:
                outcomes.append(Outcome(submission.student, submission.module, status="unchanged"))
            else:
                todo.append((submission, key, digest))
        bar = _progress(len(todo), self.progress)
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.jobs)) as pool:
                futures = {pool.submit(self.grade_one, item[0]): item for item in todo}
                for future in as_completed(futures):
                    submission, key, digest = futures[future]
                    outcome, work = future.result()
                    self._merge(submission, outcome, work)  # one thread writes the gradebook
                    state[key] = digest
                    outcomes.append(outcome)
                    bar.update(1)
                    if notify:
                        notify(outcome)
        finally:
            for worker in self._workers:
                worker.close()
            bar.close()
        self._save_state(state)
        self.write_reports(outcomes)
        return outcomes

    def write_reports(self, outcomes: list[Outcome]) -> None:
        """grades.csv, exercises.csv and distribution.png from the gradebook; report.csv from this run."""
        from nbgrader.api import Gradebook

        self.grades_dir.mkdir(exist_ok=True)
        rows, exercises = [], []
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            for assignment in gradebook.assignments:
                for submission in assignment.submissions:
                    rows.append(
                        {
                            "student": submission.student.id,
                            "module": assignment.name,
                            "score": submission.score,
                            "max_score": submission.max_score,
                        }
                    )
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            exercises.append(
                                {
                                    "student": submission.student.id,
                                    "module": assignment.name,
                                    "exercise": grade.name,
                                    "score": grade.score,
                                    "max_score": grade.max_score,
                                }
                            )
        grades = pd.DataFrame(rows, columns=["student", "module", "score", "max_score"])
        grades.sort_values(["module", "student"]).to_csv(self.grades_dir / "grades.csv", index=False)
        table = pd.DataFrame(exercises, columns=["student", "module", "exercise", "score", "max_score"])
        table.sort_values(["module", "student", "exercise"]).to_csv(
            self.grades_dir / "exercises.csv", index=False
        )
        report = pd.DataFrame(
            [
                {
                    "student": o.student,
                    "module": o.module,
                    "status": o.status,
                    "score": o.score,
                    "max_score": o.max_score,
                    "seconds": round(o.seconds, 1),
                    "reasons": "; ".join(o.reasons),
                }
                for o in outcomes
            ],
            columns=["student", "module", "status", "score", "max_score", "seconds", "reasons"],
        )
        report.sort_values(["module", "student"]).to_csv(self.grades_dir / "report.csv", index=False)
        plot_distribution(grades, self.grades_dir / "distribution.png")


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


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", disable=not enabled)


#: Exceptions that end nbgrader's run of a notebook, and what they mean for the instructor.
FAILURES = (
    (
        "DeadKernelError",
        "the kernel died while the notebook ran (it exited or killed its own process): "
        "nothing could be graded",
    ),
    (
        "CellTimeoutError",
        f"a cell ran past the {CELL_TIMEOUT_SECONDS} s cell limit and ignored the interrupt: grading stopped",
    ),
)


def failure_reason(log: str) -> str:
    """Why nbgrader could not grade a notebook, from its log."""
    for marker, reason in FAILURES:
        if marker in log:
            return reason
    errors = [line.strip() for line in log.splitlines() if re.search(r"\w(Error|Exception): ", line)]
    return "nbgrader could not grade it: " + (errors[-1][:300] if errors else "no error message")
