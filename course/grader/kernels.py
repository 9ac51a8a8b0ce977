"""Grading kernels forked from a warm parent, through jupyter_client's provisioner extension point.

A fresh kernel spends most of its start importing: ipykernel and IPython, then the set-up cell's
pandas, matplotlib, redis-py and the course (about 1 CPU-second per notebook, measured by
``benchmarks/bench_grading_breakdown.py``). A grading worker imports all of that once
(:func:`preload`), then forks a :class:`KernelZygote` before it grades anything; each kernel
nbgrader asks for is a ``fork()`` of that zygote, which then runs ipykernel exactly as
``python -m ipykernel_launcher`` would, in the notebook's folder, with the environment
jupyter_client prepared (``NBGRADER_EXECUTION`` included). The student's code meets a new process
every time, as with a stock kernel; only the imports are already done.

:class:`ForkedKernelManager` (``--Execute.kernel_manager_class``, set by the grading worker only:
plain ``nbgrader`` and the Formgrader keep stock kernels) gives each kernel a
:class:`ForkingProvisioner`: a ``LocalProvisioner`` whose process is the forked one. Interrupts
and kills go to the kernel's process group as jupyter_client's own launcher arranges. A kernel
dies with the zygote, the zygote with its worker (Linux parent-death signals), so the worker's
time limit, which kills its process tree, still stops everything.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import sys
import threading
import uuid
from typing import IO, Any

import psutil
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from course.sandbox.process import die_with_parent

#: Imported once by the zygote: what every kernel and every set-up cell of the course loads.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "matplotlib_inline.backend_inline",
    "numpy",
    "pandas",
    "matplotlib.pyplot",
    "redis",
    "course.notebook",
    "course.checks",
    "course.measure",
    "course.sandbox.cluster",
)
#: How ipykernel sets the backend when none is set; the zygote imports matplotlib the same way.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def forkable(cmd: list[str]) -> bool:
    """Is ``cmd`` the stock ipykernel command of this interpreter (``-m ipykernel_launcher``)?"""
    return len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1:3] == ["-m", "ipykernel_launcher"]


# -- the zygote process ----------------------------------------------------------------------------


def _reap(signum: int, frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _run_kernel(request: dict[str, Any]) -> None:  # pragma: no cover - runs in the forked kernel
    """In the forked child: become a kernel launched by jupyter_client, then exit like one."""
    code = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # its own process group: interrupts and kills reach it and its children
        die_with_parent()
        for number in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(2, 1)  # never write into the zygote's answers
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # as jupyter_client's launcher sets it
        sys.argv = ["ipykernel_launcher", *request["argv"][3:]]
        from ipykernel.kernelapp import IPKernelApp

        from course.sandbox import lifecycle

        app = IPKernelApp.instance()
        app.parent_handle = os.getppid()  # its default was read from the zygote's environment
        app.initialize(request["argv"][3:])  # type: ignore[no-untyped-call]
        # A stock kernel imports the course after IPython registered its exit handlers, so the
        # sandbox's servers are closed before IPython clears the namespace that holds them.
        atexit.unregister(lifecycle._close_all)
        atexit.register(lifecycle._close_all)
        app.start()  # type: ignore[no-untyped-call]
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # the sandbox's servers stop, as at a normal exit
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def preload() -> None:
    """Import what every kernel and set-up cell loads (before :meth:`KernelZygote.start`)."""
    import importlib

    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = INLINE_BACKEND  # as ipykernel sets it before matplotlib loads
    for name in PRELOAD:
        with contextlib.suppress(Exception):  # a missing optional package: that kernel imports it
            importlib.import_module(name)


def _serve(requests: IO[str], answers: IO[str]) -> None:  # pragma: no cover - the zygote process
    """Fork one kernel per request line; answer ``{"pid"}`` per line; end when requests close."""
    die_with_parent()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the worker's own channels are not the zygote's
    os.dup2(2, 1)
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for kernels
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            answers.close()
            _run_kernel(request)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()


class KernelZygote:
    """A fork of the calling process that forks kernels on request.

    :meth:`start` must be called while the caller is single-threaded and after :func:`preload`
    (the grading worker does it first thing; an RQ work horse, itself a fresh fork, likewise).
    """

    def __init__(self) -> None:
        self.pid: int | None = None
        self._requests: IO[str] | None = None
        self._answers: IO[str] | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.pid is not None and self.pid_alive(self.pid)

    @staticmethod
    def pid_alive(pid: int) -> bool:
        try:
            return os.waitpid(pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def start(self) -> None:
        self.close()
        to_zygote, from_worker = os.pipe()
        to_worker, from_zygote = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the zygote
            os.close(from_worker)
            os.close(to_worker)
            try:
                _serve(os.fdopen(to_zygote), os.fdopen(from_zygote, "w"))
            finally:
                os._exit(0)
        os.close(to_zygote)
        os.close(from_zygote)
        self.pid = pid
        self._requests = os.fdopen(from_worker, "w")
        self._answers = os.fdopen(to_worker)

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """A new kernel running ``argv`` (the stock ipykernel command) in ``cwd`` with ``env``."""
        with self._lock:
            if self._requests is None or self._answers is None or not self.running:
                raise RuntimeError("the kernel zygote is not running")
            self._requests.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self._requests.flush()
            line = self._answers.readline()
            if not line:
                raise RuntimeError("the kernel zygote exited")
            return int(json.loads(line)["pid"])

    def close(self) -> None:
        """Stop the zygote (its kernels die with it); idempotent."""
        for stream in (self._requests, self._answers):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._requests = self._answers = None
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None


ZYGOTE = KernelZygote()


class ForkedProcess:
    """Enough of ``subprocess.Popen`` for ``LocalProvisioner``: a kernel that is the zygote's child."""

    stdin: IO[str] | None = None
    stdout: IO[str] | None = None
    stderr: IO[str] | None = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._process: psutil.Process | None = psutil.Process(pid)
        except psutil.NoSuchProcess:
            self._process = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                alive = self._process is not None and self._process.status() != psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                alive = False
            if not alive:
                self.returncode = 0  # reaped by the zygote: its code is not ours to read
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None and self._process is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._process.wait(timeout)
        return self.poll() or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkingProvisioner(LocalProvisioner):
    """``LocalProvisioner`` with the stock ipykernel command forked from the zygote."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if not forkable(cmd) or not ZYGOTE.running:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = ZYGOTE.fork(cmd, env, cwd)
        self.process = ForkedProcess(pid)  # type: ignore[assignment]  # enough of Popen
        self.pid = self.pgid = pid
        self.cwd = cwd
        return self.connection_info


class ForkedKernelManager(AsyncKernelManager):
    """nbgrader's kernel manager, with kernels forked from the worker's zygote."""

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:  # as jupyter_client's factory would, with this provisioner
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = ForkingProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)
