"""The `local` sandbox: warm executors that fork one hardened child per program."""

from __future__ import annotations

import json
import math
import os
import queue
import secrets
import sys
import sysconfig
import threading
from collections.abc import Sequence
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from leti_core import ExecutionResult, LetiError, Options, Program, ProgressCallback, Sandbox

from . import bwrap, frames, isolation
from .channel import Capture, judge
from .slots import Slots
from .workers import STOP, ExecutorError, ExecutorProcess, Job, Worker

EXECUTOR = Path(__file__).with_name("executor.py")
LayerName = Literal["uid", "tmpfs", "landlock", "landlock-fs", "seccomp"]
# Modules most programs import: loaded once in the executor, shared by every child.
PRELOAD = ("re", "math", "collections", "heapq", "itertools", "functools", "bisect", "string",
           "operator", "cmath", "array", "copy", "random", "json", "sys", "typing")


def python_paths(python: str) -> list[str]:
    """Folders the interpreter's standard library lives in (read-only for programs)."""
    paths = {sys.base_prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"],
             os.path.dirname(os.path.realpath(python))}
    return sorted(path for path in paths if path and os.path.isdir(path))


class LocalSandbox(Sandbox):
    """Runs each program in a fresh child forked from a warm, small executor process.

    Each child gets, where the kernel has them: an unprivileged uid of its own per worker (when
    root), rlimits, Landlock (filesystem, TCP, signal scope), a seccomp filter (sockets,
    io_uring, namespaces, ptrace), a private size-limited tmpfs work folder, stdin from
    /dev/null, capped output and a clean environment; the executor enforces the wall-clock limit
    and leaves no process behind. With bubblewrap, each executor also runs in its own
    namespaces. Refuses to start below ``min_level`` (see ``leti sandbox check``).
    """

    name = "local"

    class Options(Options):
        workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256,
                             description="executors, so programs run at once")
        min_level: isolation.Level = Field(default_factory=isolation.default_min_level,
                                           description="refuse to run below this isolation level")
        bwrap: Literal["auto", "on", "off"] = Field(default="auto", description="start executors under bubblewrap")
        python: str = Field(default_factory=lambda: os.path.realpath(sys.executable),
                            description="absolute path of the interpreter that runs programs")
        disable: list[LayerName] = Field(default_factory=list, description="layers to leave off")
        max_processes: int = Field(default=16, ge=1, description="processes per program (with a uid of its own)")
        tmpfs_mb: int = Field(default=64, ge=1, description="size of each worker's work folder")
        file_mb: int = Field(default=16, ge=1, description="largest file a program may write")
        uid_base: int = Field(default=1_500_000_000, ge=1000, description="first unprivileged uid (root only)")
        window: int = Field(default=2, ge=1, le=64, description="jobs queued on each executor's pipe")
        preload: list[str] = Field(default_factory=lambda: list(PRELOAD), description="modules imported once")

        @field_validator("python")
        @classmethod
        def _absolute(cls, value: str) -> str:
            if not os.path.isabs(value) or not os.access(value, os.X_OK):
                raise ValueError("must be the absolute path of an executable interpreter")
            return value

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._workers: list[Worker] = []
        self._slots: Slots | None = None
        self._bwrap = self._choose_bwrap()
        self.layers: isolation.Layers = {}
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self._isolation = isolation.describe(self.layers)

    def _choose_bwrap(self) -> str | None:
        if self.options.bwrap == "off":
            return None
        path = bwrap.find()
        reason = "bwrap is not installed (apt install bubblewrap)" if path is None else bwrap.probe(path)
        if reason is None:
            return path
        if self.options.bwrap == "on":
            raise LetiError(f"sandbox 'local': option bwrap='on' but bubblewrap cannot run here: {reason}")
        self._bwrap_reason = reason
        return None

    def _start(self) -> None:
        self._slots = Slots(self.options.workers, self.options.uid_base if "uid" not in self.options.disable else None)
        for slot in self._slots.slots:
            worker = Worker(lambda slot=slot: self._spawn(slot), self._queue, self._convert, self._failed,
                            self.options.window)
            worker.start()
            self._workers.append(worker)
        for worker in self._workers:
            try:
                layers = worker.ready.result()
            except ExecutorError as error:
                raise LetiError(f"sandbox 'local': the executor could not start: {error}") from None
            if not self.layers or isolation.LEVELS.index(isolation.level_of(layers)) < isolation.LEVELS.index(
                    isolation.level_of(self.layers)):
                self.layers = layers
        self.layers["bwrap"] = ({"on": True, "detail": "each executor in its own pid, network, ipc, uts and mount "
                                 "namespaces, capabilities dropped"} if self._bwrap else
                                {"on": False, "detail": getattr(self, "_bwrap_reason", "disabled by option")})
        isolation.check_minimum(self.name, self.layers, self.options.min_level)

    def _spawn(self, slot: Any) -> ExecutorProcess:
        read_paths = python_paths(self.options.python)
        config = {
            "uid": slot.uid, "gid": slot.gid, "workdir": slot.workdir, "read_paths": read_paths + list(bwrap.SYSTEM_PATHS),
            "disable": self.options.disable, "max_processes": self.options.max_processes,
            "tmpfs_mb": self.options.tmpfs_mb, "file_mb": self.options.file_mb, "preload": self.options.preload,
            "private_tmpfs": self._bwrap is None,
            "uid_reason": None if os.geteuid() == 0 else "not running as root: no unprivileged uid to switch to",
        }
        if self._bwrap:
            config["tmpfs_reason"] = f"private {self.options.tmpfs_mb} MiB tmpfs inside bubblewrap"
        command = [self.options.python, "-I", "-S", "-B", str(EXECUTOR), json.dumps(config)]
        if self._bwrap:
            command = bwrap.command(self._bwrap, [*read_paths, str(EXECUTOR.parent)], slot.workdir,
                                    self.options.tmpfs_mb, command)
        return ExecutorProcess(command)

    def isolation(self) -> str:
        return self._isolation

    def run(self, programs: Sequence[Program], progress: ProgressCallback | None = None) -> list[ExecutionResult]:
        """Run ``programs`` on the workers; thread-safe, results in the order of ``programs``."""
        if not self._workers:
            raise LetiError("sandbox 'local' is closed")
        jobs = [self._job(program) for program in programs]
        for job in jobs:
            self._queue.put(job)
        for future in as_completed([job.future for job in jobs]):
            future.result()
            if progress is not None:
                progress(1)
        return [job.future.result() for job in jobs]

    @staticmethod
    def _job(program: Program) -> Job:
        message = {"source": program.source, "nonce": secrets.token_hex(16), "timeout": program.timeout,
                   "memory_mb": program.memory_mb, "cpu_seconds": math.ceil(program.timeout) + 1,
                   "output_limit": program.output_limit}
        return Job(message, program.timeout, frame=frames.encode(message))

    def _convert(self, job: Job, message: dict[str, Any]) -> ExecutionResult:
        base = {"stdout": message["stdout"], "stderr": message["stderr"], "duration": message["duration"],
                "isolation": self._isolation}
        if message["timed_out"]:
            return ExecutionResult(status="timed out", reason="timeout", **base)
        report = Capture(1 << 20)
        report.data += message["report"].encode()
        report.dropped = int(message["report_overflow"])
        return judge(report, message["returncode"], job.message["nonce"], base)

    def _failed(self, job: Job, reason: str) -> ExecutionResult:
        return ExecutionResult(status="error", reason=f"sandbox error: {reason}", isolation=self._isolation)

    def close(self) -> None:
        """Stop the workers and their executors (no process is left behind)."""
        with self._lock:
            workers, self._workers = self._workers, []
            for _ in workers:
                self._queue.put(STOP)
            for worker in workers:
                worker.join()
            if self._slots is not None:
                self._slots.close()
                self._slots = None
