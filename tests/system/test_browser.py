"""The student and instructor flow in a real browser: JupyterLab with nbgrader's extensions.

The course's own `scripts/start` serves a temporary copy of the course (so the repository gets no
gradebook or submissions), and headless Chromium, driven by Playwright, does what people do:

* a student opens release/01_pubsub, runs every cell (Run All stops at the first exercise, still a
  stub), writes Part A, runs its visible tests, and presses nbgrader's Validate button;
* an instructor opens the Formgrader from the Nbgrader menu, sees every module and the submission
  of a student (autograded beforehand with `nbgrader autograde`).

Screenshots of each step and the time each step took are kept in artifacts/browser/ (git-ignored).
Everything is shut down through the server's API; no server, kernel, browser or redis-server may
be left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook

from course.settings import COURSE_ROOT

pytestmark = pytest.mark.slow

ARTIFACTS = COURSE_ROOT / "artifacts" / "browser"
MODULE, NOTEBOOK = "01_pubsub", "pubsub.ipynb"
STUDENT = "student1"
#: What `scripts/start` needs in the copy (it execs `jupyter lab` from the course root).
COPIED = (
    "course",
    "source",
    "release",
    "scripts",
    "nbgrader_config.py",
    "pyproject.toml",
    "requirements.txt",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Deadlines: generous for a loaded 2-core machine (the whole flow takes about 30 s).
SERVER_READY_SECONDS = 60
KERNEL_IDLE_MS = 60_000
RUN_ALL_MS = 120_000
CELL_MS = 60_000
VALIDATE_MS = 120_000
UI_MS = 20_000


# --- what the test needs ------------------------------------------------------------------------
def chromium_path() -> Path:
    return Path(os.environ.get("COURSE_CHROMIUM") or "/usr/bin/chromium")


def require_browser() -> Any:
    """The Playwright module, or a skip that says what is missing."""
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("playwright is not installed: run ./scripts/test (it installs requirements.txt)")
    if not os.access(chromium_path(), os.X_OK):
        pytest.skip(
            f"chromium not installed ({chromium_path()} not found): run apt-get install chromium "
            "(./scripts/test does it when run as root), or set COURSE_CHROMIUM"
        )
    return sync_api


def solution_source(notebook: Path, cell_id: str) -> str:
    """A solution cell's source with nbgrader's `### BEGIN/END SOLUTION` marker lines removed."""
    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if c.get("id") == cell_id)
    lines = cell.source.splitlines()
    return "\n".join(line for line in lines if not re.match(r"\s*### (BEGIN|END) SOLUTION", line))


def source_folders(course: Path) -> list[str]:
    """The modules the Formgrader must list: every folder in source/ (nbgrader lists them all)."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


# --- timings and screenshots ----------------------------------------------------------------------
@dataclass
class Steps:
    """Times each step, and keeps a screenshot of the page at its end."""

    folder: Path
    page: Any = None
    done: list[tuple[str, float]] = field(default_factory=list)
    shots: int = 0
    started: float = field(default_factory=time.perf_counter)

    @contextlib.contextmanager
    def step(self, name: str, screenshot: bool = True) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        except BaseException:
            self.done.append((f"{name} FAILED", time.perf_counter() - begin))
            self.shoot(f"FAILED-{name}")
            raise
        self.done.append((name, time.perf_counter() - begin))
        if screenshot:
            self.shoot(name)

    def shoot(self, name: str) -> None:
        if self.page is None:
            return
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(self.folder / f"{self.shots:02d}-{slug}.png"))

    def report(self) -> str:
        width = max((len(name) for name, _ in self.done), default=10)
        lines = [f"{name:<{width}}  {seconds:6.1f} s" for name, seconds in self.done]
        lines.append(f"{'total':<{width}}  {time.perf_counter() - self.started:6.1f} s")
        return "\n".join(lines)


# --- the course copy, the server and its processes ------------------------------------------------
def copy_course(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in COPIED:
        source = COURSE_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(source, target / name)
    return target


def nbgrader(course: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}{result.stderr}"


def submit_and_autograde(course: Path) -> None:
    """One submission in the copy, graded as an instructor would: the reference solutions."""
    # generate_assignment puts the assignment in the gradebook; its output goes to a folder of its
    # own, since regenerating release/ would pull the notebook from under the student's feet.
    nbgrader(
        course, "generate_assignment", MODULE, "--force", "--CourseDirectory.release_directory=regenerated"
    )
    submitted = course / "submitted" / STUDENT / MODULE
    submitted.mkdir(parents=True)
    shutil.copy(course / "source" / MODULE / NOTEBOOK, submitted / NOTEBOOK)
    nbgrader(course, "autograde", MODULE)


def venv_is_set_up() -> str | None:
    """Why `scripts/start` would reinstall into the environment (and repoint it at the copy), or None.

    scripts/bootstrap reinstalls when its stamp does not match requirements.txt + pyproject.toml;
    doing that from the copy would point the environment's `import course` at a temporary folder.
    """
    venv = Path(sys.prefix)
    stamp = venv / ".course-installed"
    data = (COURSE_ROOT / "requirements.txt").read_bytes() + (COURSE_ROOT / "pyproject.toml").read_bytes()
    wanted = hashlib.sha256(data + sys.version.encode()).hexdigest()
    if sys.prefix == sys.base_prefix:
        return f"pytest runs outside a virtual environment ({sys.prefix}): run ./scripts/test"
    if not stamp.is_file() or stamp.read_text().strip() != wanted:
        return f"{venv} is not set up for this requirements.txt: run ./scripts/test (or ./scripts/start) once"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Lab:
    course: Path
    process: subprocess.Popen[bytes]
    log: Path
    port: int
    token: str
    runtime: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, timeout: float = 5) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def output_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"scripts/start exited with {self.process.returncode} before JupyterLab answered; "
                    f"its output ends with:\n{self.output_tail()}"
                )
            with contextlib.suppress(OSError, ValueError):
                self.api("GET", "/api/status", timeout=2)
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not answer GET /api/status within {SERVER_READY_SECONDS} s; "
                    f"scripts/start's output ends with:\n{self.output_tail()}"
                )
            time.sleep(0.2)

    def processes(self) -> list[psutil.Process]:
        """The server, everything it started (kernels, their redis-servers), and any kernel using
        this server's runtime folder."""
        found: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(self.process.pid)
            found[server.pid] = server
            for child in server.children(recursive=True):
                found[child.pid] = child
        for process in psutil.process_iter(["cmdline"]):
            if any(str(self.runtime) in part for part in process.info["cmdline"] or []):
                found[process.pid] = process
        return list(found.values())

    def shutdown(self) -> list[str]:
        """Stop the server through its API; return what had to be killed (empty when clean)."""
        started = self.processes()
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.api("POST", "/api/shutdown", timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        # Kernels get a moment to stop their redis-servers after the server is gone.
        _, alive = psutil.wait_procs(started, timeout=10)
        leftovers = [describe(p) for p in alive]
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        return leftovers


def describe(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return f"pid {process.pid}: {' '.join(process.cmdline())[:200]}"
    return f"pid {process.pid}"


def start_lab(course: Path, scratch: Path) -> Lab:
    """`scripts/start` in the copy, in its own session, on a free loopback port with a token."""
    port, token = free_port(), secrets.token_hex(16)
    runtime, log = scratch / "runtime", scratch / "lab.log"
    runtime.mkdir()
    env = {
        **os.environ,
        "COURSE_VENV": sys.prefix,  # the real environment: nothing is installed
        "JUPYTER_RUNTIME_DIR": str(runtime),  # kernel connection files: find our kernels by it
    }
    args = [
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        # A fresh lab: no workspace or settings of the person running the tests.
        f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
        f"--LabApp.user_settings_dir={scratch / 'settings'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(course / "scripts" / "start"), *args],
            cwd=course,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Lab(course, process, log, port, token, runtime)


def browser_processes() -> list[psutil.Process]:
    """Playwright's driver (a child of this test process) and the Chromium it started."""
    found = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if any("playwright" in part for part in child.cmdline()):
                found += [child, *child.children(recursive=True)]
    return found


# --- the notebook as the page shows it ------------------------------------------------------------
CELLS_JS = """
cells => cells.map(cell => ({
    input: cell.querySelector('.jp-InputArea-editor')?.textContent ?? '',
    output: cell.querySelector('.jp-OutputArea')?.textContent ?? '',
    prompt: cell.querySelector('.jp-InputPrompt')?.textContent ?? '',
}))
"""


#: IPython's header of an exception's traceback in a cell's output.
TRACEBACK = "Traceback (most recent call last)"


def code_cells(page: Any) -> list[dict[str, str]]:
    cells: list[dict[str, str]] = page.eval_on_selector_all(".jp-Notebook .jp-CodeCell", CELLS_JS)
    return cells


def cell_index(cells: list[dict[str, str]], starts: str) -> int:
    matches = [i for i, cell in enumerate(cells) if cell["input"].startswith(starts)]
    assert matches, f"no code cell starting with {starts!r} in the notebook the lab shows"
    return matches[0]


def wait_until(check: Callable[[], Any], timeout_ms: int, message: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(message())
        time.sleep(0.2)


def follow(frame: Any, link: Any) -> None:
    """Click a link inside the Formgrader's frame and wait for the next page to replace this one."""
    frame.locator("body").evaluate("body => { body.dataset.left = 'yes'; }")
    link.click()
    frame.locator("body:not([data-left])").wait_for(timeout=UI_MS)


def wait_for_table(frame: Any, lab: Lab, what: str) -> Any:
    """The Formgrader page's table once its data has loaded ("Loading, please wait..." is gone)."""
    table = frame.locator("#main-table")

    def loaded() -> bool:
        with contextlib.suppress(Exception):
            text = table.inner_text(timeout=1000)
            return bool(text) and "Loading, please wait" not in text
        return False

    wait_until(
        loaded,
        UI_MS * 2,
        lambda: (
            f"the Formgrader never finished loading {what} (nbgrader's server extension did not "
            f"answer); the server said:\n{lab.output_tail()}"
        ),
    )
    return table


# --- the test ---------------------------------------------------------------------------------------
def test_student_and_instructor_flow_in_a_real_browser(tmp_path: Path) -> None:
    sync_api = require_browser()
    not_ready = venv_is_set_up()
    assert not_ready is None, not_ready

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    steps = Steps(ARTIFACTS)
    answer = solution_source(COURSE_ROOT / "source" / MODULE / NOTEBOOK, "part-a-solution")

    course = tmp_path / "course"
    course.mkdir()
    with steps.step("copy the course", screenshot=False):
        copy_course(course)
    expected_modules = source_folders(course)

    # The instructor's submission is prepared while the student works (two cores: it overlaps).
    grading_error: list[BaseException] = []
    grading_seconds: list[float] = []

    def grade() -> None:
        begin = time.perf_counter()
        try:
            submit_and_autograde(course)
        except BaseException as error:  # reported when the instructor looks
            grading_error.append(error)
        grading_seconds.append(time.perf_counter() - begin)

    grader = threading.Thread(target=grade, name="autograde", daemon=True)
    grader.start()

    lab = start_lab(course, tmp_path)
    leftovers: list[str] = []
    try:
        with steps.step("start JupyterLab (scripts/start)", screenshot=False):
            lab.wait_ready()
        with sync_api.sync_playwright() as playwright:
            with steps.step("launch chromium", screenshot=False):
                browser = playwright.chromium.launch(
                    executable_path=str(chromium_path()), headless=True, args=CHROMIUM_ARGS
                )
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.set_default_timeout(UI_MS)
                steps.page = page
                student_flow(page, lab, steps, answer, sync_api)

                def graded() -> None:
                    with steps.step("wait for the instructor's autograde", screenshot=False):
                        grader.join(timeout=600)
                        assert not grader.is_alive(), "nbgrader autograde of the prepared submission hung"
                        if grading_error:
                            raise grading_error[0]

                instructor_flow(page, lab, steps, expected_modules, graded)
            finally:
                browser_procs = browser_processes()  # the driver, Chromium and its renderers
                browser.close()
        # Playwright's driver and Chromium must be gone once the browser is closed.
        _, alive = psutil.wait_procs(browser_procs, timeout=10)
        leftovers += [f"browser {describe(p)}" for p in alive]
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
    finally:
        with steps.step("shut down through POST /api/shutdown", screenshot=False):
            leftovers += [f"lab {item}" for item in lab.shutdown()]
        grader.join(timeout=600)  # never leave nbgrader (and its kernel) running past the test
        if grading_seconds:
            steps.done.append(("(in the background: generate_assignment + autograde)", grading_seconds[0]))
        report = steps.report()
        (ARTIFACTS / "timings.txt").write_text(report + "\n")
        print(f"\nbrowser flow timings (artifacts in {ARTIFACTS}):\n{report}")
    assert not leftovers, "left behind after shutdown:\n" + "\n".join(leftovers)
    assert lab.process.returncode is not None


def student_flow(page: Any, lab: Lab, steps: Steps, answer: str, sync_api: Any) -> None:
    expect = sync_api.expect
    notebook_path = f"release/{MODULE}/{NOTEBOOK}"

    with steps.step("student: open the notebook, kernel idle"):
        page.goto(f"{lab.url}/lab/tree/{notebook_path}?token={lab.token}")
        cell, dialog = (
            page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first,
            page.locator(".jp-Dialog"),
        )
        cell.or_(dialog).first.wait_for(timeout=UI_MS * 2)
        if dialog.count():
            pytest.fail(f"JupyterLab could not open {notebook_path}: {dialog.inner_text()!r}")

        def kernel_idle() -> bool:
            sessions = lab.api("GET", "/api/sessions")
            states = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(notebook_path)]
            indicator = page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')
            return states == ["idle"] and indicator.count() > 0

        wait_until(
            kernel_idle,
            KERNEL_IDLE_MS,
            lambda: f"the notebook's kernel never became idle; the server said:\n{lab.output_tail()}",
        )
        button = page.locator(".jp-NotebookPanel-toolbar .validate-button")
        with contextlib.suppress(sync_api.Error):
            button.wait_for(timeout=UI_MS // 2)
        if button.count() == 0:
            pytest.fail(
                "the Validate button never appeared in the notebook toolbar "
                "(nbgrader's JupyterLab extension @jupyter/nbgrader is not loaded or is disabled)"
            )

    with steps.step("student: Run All stops at Part A's stub"):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        def stopped() -> list[dict[str, str]] | None:
            cells = code_cells(page)
            errored = any("NotImplementedError" in c["output"] for c in cells)
            idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0
            return cells if errored and idle else None

        cells = wait_until(
            stopped,
            RUN_ALL_MS,
            lambda: (
                "Run All never stopped at a NotImplementedError; outputs seen: "
                + " | ".join(c["output"][-200:] for c in code_cells(page) if c["output"])
            ),
        )
        solution = cell_index(cells, "class ChatRoom")
        tests = cell_index(cells, "# Checks Part A")
        first_error = next(i for i, c in enumerate(cells) if TRACEBACK in c["output"])
        assert first_error == solution + 1, (
            f"Run All should first fail in the demo call right after Part A's stub (cell {solution + 1}), "
            f"it failed in cell {first_error}: {cells[first_error]['output'][-500:]}"
        )
        assert "NotImplementedError" in cells[first_error]["output"]
        assert "ChatRoom" in cells[first_error]["output"], "the error should point at ChatRoom"
        assert cells[tests]["output"] == "", "Run All should not reach Part A's tests"
        assert re.search(r"\d", cells[solution]["prompt"]), "Part A's solution cell was not run"

    with steps.step("student: write Part A and pass its visible tests"):
        code = page.locator(".jp-Notebook .jp-CodeCell")
        editor = code.nth(solution).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(answer)
        flat = re.sub(r"\s+", "", answer)
        wait_until(
            lambda: re.sub(r"\s+", "", code_cells(page)[solution]["input"]) == flat,
            UI_MS,
            lambda: f"the typed answer did not land in the cell: {code_cells(page)[solution]['input'][:300]}",
        )
        page.keyboard.press("Control+Enter")
        code.nth(tests).locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        wait_until(
            lambda: (
                "Part A: visible tests passed." in code_cells(page)[tests]["output"]
                or TRACEBACK in code_cells(page)[tests]["output"]
            ),
            CELL_MS,
            lambda: "Part A's test cell printed nothing within the deadline",
        )
        output = code_cells(page)[tests]["output"]
        assert "Part A: visible tests passed." in output, f"Part A's visible tests failed:\n{output[-1500:]}"
        code.nth(tests).scroll_into_view_if_needed()

    with steps.step("student: Validate reports parts B and C"):
        page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
        dialog = page.locator(".jp-Dialog")
        with contextlib.suppress(sync_api.Error):
            dialog.wait_for(timeout=VALIDATE_MS)
        if dialog.count() == 0:
            pytest.fail(f"Validate showed no dialog within {VALIDATE_MS // 1000} s")
        if dialog.locator("#validation-message").count() == 0:
            seen = dialog.inner_text().replace("\n", " | ")
            pytest.fail(f"Validate showed an error instead of its results: {seen}")
        title = dialog.locator(".jp-Dialog-header").inner_text()
        message = dialog.locator("#validation-message")
        text = message.inner_text()
        assert title.strip() == "Validation Results", f"unexpected dialog {title!r}: {text[:1000]}"
        assert "validation-failed" in (message.get_attribute("class") or ""), (
            f"with parts B and C still stubs Validate must report failures, it said:\n{text[:2000]}"
        )
        assert text.count("The following cell failed:") == 2, text[:2000]
        assert "# Checks Part B" in text, text[:2000]
        assert "# Checks Part C" in text, text[:2000]
        assert "# Checks Part A" not in text, f"Part A was solved, yet Validate reports it:\n{text[:2000]}"
        assert "NotImplementedError" in text
        expect(message).to_be_visible()
    steps.shoot("validate dialog")  # the dialog as the student sees it, before it is closed
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)

    # Validate saved the notebook: the answer typed in the browser is on disk, byte for byte.
    saved = nbformat.read(lab.course / notebook_path, as_version=4)
    typed = next(c for c in saved.cells if c.get("id") == "part-a-solution").source
    assert typed == answer, f"the saved Part A differs from what was typed:\n{typed}"


def instructor_flow(
    page: Any, lab: Lab, steps: Steps, expected_modules: list[str], graded: Callable[[], None]
) -> None:
    with steps.step("instructor: Formgrader lists every module"):
        menu = page.get_by_role("menuitem", name="Nbgrader", exact=True)
        if menu.count() == 0:
            pytest.fail(
                "the Nbgrader menu is missing from the menu bar (nbgrader's lab extension is not loaded)"
            )
        menu.click()
        page.get_by_role("menuitem", name="Formgrader", exact=True).click()
        frame = page.frame_locator("#formgrader iframe")
        table = wait_for_table(frame, lab, "its assignments")
        names = [n.strip() for n in frame.locator("#main-table td.name").all_inner_texts()]
        assert names, (
            "formgrader listed no assignments (it must be started from the course root with its "
            f"nbgrader_config.py); its table said: {table.inner_text()[:500]!r}"
        )
        assert sorted(names) == sorted(expected_modules), (
            f"formgrader listed {names}, the course has source folders for {expected_modules}"
        )

    graded()  # the submission was autograded in the background meanwhile

    with steps.step("instructor: the graded submission"):
        follow(frame, frame.get_by_role("link", name="Manage Assignments").first)  # reloads the list
        wait_for_table(frame, lab, "its assignments")
        row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text=MODULE))
        submissions = row.locator("td.num-submissions").inner_text().strip()
        assert submissions == "1", f"formgrader shows {submissions!r} submissions of {MODULE}, expected 1"
        follow(frame, row.locator("td.num-submissions a"))
        wait_for_table(frame, lab, f"the submissions of {MODULE}")
        student = frame.locator("#main-table tr", has=frame.locator("td.student-id", has_text=STUDENT))
        assert student.count() == 1, (
            f"formgrader does not list {STUDENT}'s submission: {frame.locator('#main-table').inner_text()!r}"
        )
        status = student.locator("td.status").inner_text().strip()
        score = student.locator("td.score").inner_text().strip()
        assert status == "graded", f"{STUDENT}'s submission shows status {status!r}, expected 'graded'"
        # What the page shows is what the gradebook holds (full marks are test_release.py's business).
        with Gradebook(f"sqlite:///{lab.course / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission(MODULE, STUDENT)
            held = f"{round(submission.score, 2):g} / {round(submission.max_score, 2):g}"
            points = submission.max_score
        assert points > 0, "the submission has no points to score"
        assert score == held, f"formgrader shows the score {score!r}, the gradebook holds {held!r}"
