"""The `subprocess` sandbox: a fresh bare interpreter per program, with limits and a kill switch."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import Field

from leti_core import (
    ExecutionResult,
    Program,
    ProgressCallback,
    Sandbox,
    SandboxBackendOptions,
    output_matches,
)

from .channel import collect, communicate, judge_io, new_nonce

HARNESS = Path(__file__).with_name("harness.py")
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def scratch_root() -> str | None:
    """A tmpfs folder for work directories when the machine has one (faster than disk)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class SubprocessSandbox(Sandbox):
    """Runs each program in its own `python -I -S` process with rlimits and a wall-clock kill.

    Isolation: process, rlimits, a private work folder and a clean environment; no filesystem or
    network isolation. Use the `local` or `docker` backends for untrusted code at scale.
    """

    name = "subprocess"

    class Options(SandboxBackendOptions):
        python: str = Field(default=sys.executable, description="interpreter that runs programs")

    def isolation(self) -> str:
        return "process+rlimits"

    def verdicts(self) -> dict[str, str]:
        return {
            "python": "judged in process: the tests run inside the program's process, and the filesystem "
            "is open (the program may read its tests from disk): a program can forge a pass; "
            "use the local or docker backend for verdicts that train"
        }

    def run(self, programs: Sequence[Program], progress: ProgressCallback | None = None) -> list[ExecutionResult]:
        def run_one(program: Program) -> ExecutionResult:
            result = self.run_one(program)
            if progress is not None:
                progress(1)
            return result

        if self.options.workers == 1 or len(programs) <= 1:
            return [run_one(program) for program in programs]
        with ThreadPoolExecutor(self.options.workers) as pool:
            return list(pool.map(run_one, programs))

    def run_one(self, program: Program) -> ExecutionResult:
        if program.io_tests:
            return self.run_io(program)
        nonce = new_nonce()
        # No judge apart here: the tests run in the program's own process (``leti sandbox check`` says so).
        tests = program.tests.decode() if isinstance(program.tests, bytes) else program.tests
        source = program.source + "\n" + tests if tests else program.source
        job = json.dumps({"source": source, "nonce": nonce}).encode()
        try:
            with self._started(program) as (process, read_fd):
                result = collect(process, read_fd, program, nonce, job)
        except OSError as error:
            return ExecutionResult(status="error", reason=f"sandbox could not start: {error}")
        return result.model_copy(update={"isolation": self.isolation()})

    def run_io(self, program: Program) -> ExecutionResult:
        """Standard-input tests: a harness process per test, with the test's input as its stdin,
        until one fails; the output is compared here (the program can read its tests' files: this
        backend's verdicts are marked judged in process)."""
        started = time.monotonic()
        for index, test in enumerate(program.io_tests):
            nonce = new_nonce()
            job = json.dumps({"source": program.source, "nonce": nonce, "stdin": test.stdin}).encode()
            try:
                with self._started(program) as (process, read_fd):
                    run = communicate(process, read_fd, program, job, stop_on_overflow=True)
            except OSError as error:
                return ExecutionResult(status="error", reason=f"sandbox could not start: {error}")
            run["test"] = index
            if not (run["stdout_overflow"] or run["timed_out"] or run["returncode"] != 0):
                run["matched"] = output_matches(run["output"], test, program.output_match)
            if not run.get("matched"):
                break
        result = judge_io(run, program, time.monotonic() - started, self.isolation(), nonce)
        return result.model_copy(update={"judged": "in process"})

    @contextlib.contextmanager
    def _started(self, program: Program) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
        """The harness started for ``program`` in a work folder of its own, with its report pipe."""
        workdir = tempfile.mkdtemp(prefix="leti-", dir=scratch_root())
        read_fd, write_fd = os.pipe()
        try:
            command = [
                self.options.python,
                "-I",
                "-S",
                "-B",
                str(HARNESS),
                str(program.memory_mb),
                str(program.cpu_seconds),
                str(program.output_limit),
                str(write_fd),
            ]
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                cwd=workdir,
                env=CLEAN_ENV,
                start_new_session=True,
            )
            os.close(write_fd)
            write_fd = -1
            with process:
                yield process, read_fd
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
            shutil.rmtree(workdir, ignore_errors=True)
