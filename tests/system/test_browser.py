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
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook

from course.settings import COURSE_ROOT
from tests.system.browser_lab import (
    Lab,
    copy_course,
    describe,
    run_nbgrader,
    solution_source,
    source_folders,
    start_lab,
    venv_is_set_up,
)
from tests.system.browser_page import (
    CHROMIUM_ARGS,
    TRACEBACK,
    UI_MS,
    Steps,
    browser_processes,
    cell_index,
    chromium_path,
    code_cells,
    follow,
    require_browser,
    wait_for_table,
    wait_until,
)

pytestmark = pytest.mark.slow

ARTIFACTS = COURSE_ROOT / "artifacts" / "browser"
MODULE, NOTEBOOK = "01_pubsub", "pubsub.ipynb"
STUDENT = "student1"
# Deadlines: generous for a loaded 2-core machine (the whole flow takes about 30 s).
KERNEL_IDLE_MS = 60_000
RUN_ALL_MS = 120_000
CELL_MS = 60_000
VALIDATE_MS = 120_000


def submit_and_autograde(course: Path) -> None:
    """One submission in the copy, graded as an instructor would: the reference solutions."""
    # generate_assignment puts the assignment in the gradebook; its output goes to a folder of its
    # own, since regenerating release/ would pull the notebook from under the student's feet.
    run_nbgrader(
        course, "generate_assignment", MODULE, "--force", "--CourseDirectory.release_directory=regenerated"
    )
    submitted = course / "submitted" / STUDENT / MODULE
    submitted.mkdir(parents=True)
    shutil.copy(course / "source" / MODULE / NOTEBOOK, submitted / NOTEBOOK)
    run_nbgrader(course, "autograde", MODULE)


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
