"""The instructor's side: one grading path inside nbgrader, and the class grader around it.

nbgrader steps, configured in ``nbgrader_config.py`` (so ``nbgrader autograde`` /
``generate_feedback``, the Formgrader and ``python -m course grade`` grade alike):

* :mod:`~course.grader.hooks` - ``Autograde.pre_convert_hook``: a single misnamed notebook;
* :mod:`~course.grader.duplicates` - duplicated cell ids (reported) and grade ids (deduplicated);
* :mod:`~course.grader.restore` - deleted locked and graded cells put back from the gradebook;
* :mod:`~course.grader.outputs` - outputs cut by characters;
* :mod:`~course.grader.feedback` - feedback without hidden tests or tracebacks quoting them;
* :mod:`~course.grader.markers` - the log line every mending step writes.

The class grader (``python -m course grade``), which adds only what nbgrader lacks:

* :mod:`~course.grader.classgrader` - the orchestrator: parallel jobs, merging, progress;
* :mod:`~course.grader.submissions` - finding and unpacking submissions;
* :mod:`~course.grader.jobs` - one submission as a job: its files in, what grading gave out;
* :mod:`~course.grader.sandbox` - one submission in a private course copy, under a time limit;
* :mod:`~course.grader.worker` - the long-lived nbgrader process each job grades with;
* :mod:`~course.grader.kernels` - grading kernels forked from a warm parent;
* :mod:`~course.grader.queue` and :mod:`~course.grader.rqworker` - grading on other machines,
  through RQ (``course grade --queue``, ``course grade-worker``);
* :mod:`~course.grader.roster` - students' names for the gradebook;
* :mod:`~course.grader.processes` - nbgrader as a command, killing a process tree;
* :mod:`~course.grader.gradebook` - registering modules, the snapshot, merging grades;
* :mod:`~course.grader.reasons` and :mod:`~course.grader.reports` - what the instructor reads.

:mod:`~course.grader.authoring` holds the maintainer's tools (``refresh``, ``release``);
:mod:`~course.grader.bundle` builds what students receive (``python -m course bundle``).
"""
