"""The part of the `local` and `docker` backends they share: workers feeding warm executors."""

from __future__ import annotations

import functools
import queue
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import wait
from typing import Any

from leti_core import (
    NONCE_VARIABLE,
    ExecutionResult,
    LetiError,
    Program,
    ProgressCallback,
    Sandbox,
    Step,
    expected_bytes,
)

from . import frames, isolation
from .channel import Capture, cpu_limit_hit, judge, judge_io, judge_steps, judged
from .workers import STOP, ExecutorError, ExecutorProcess, Job, Worker

PROGRESS_INTERVAL = 0.1  # seconds between progress reports while programs run


def _step(step: Step) -> dict[str, Any]:
    return {
        "name": step.name,
        "argv": step.argv,
        "timeout": step.wall_limit,
        "cpu_seconds": step.cpu_seconds,
        "memory_mb": step.memory_mb,
        "memory_limit": step.memory_limit,
    }


class ExecutorPool(Sandbox):
    """A Sandbox whose ``workers`` each feed one warm executor; subclasses say how to start one.

    ``run()`` is thread-safe: jobs from every caller share one queue.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._workers: list[Worker] = []
        self._layers: isolation.Layers = {}
        self._isolation = "unknown"
        try:
            self._prepare()
            self._start_workers()
            self._layers.update(self._host_layers())
            isolation.check_minimum(self.name, self._layers, self.options.min_level)
        except BaseException:
            self.close()
            raise
        self._isolation = isolation.describe(self._layers)

    def _prepare(self) -> None:
        """Set up what the executors need (before any starts)."""

    def _spawn(self, index: int) -> ExecutorProcess:
        raise NotImplementedError

    def _host_layers(self) -> isolation.Layers:
        """Layers applied from outside the executor (bubblewrap, a container)."""
        return {}

    def _release(self) -> None:
        """Undo ``_prepare`` (after every executor stopped)."""

    def _start_workers(self) -> None:
        for index in range(self.options.workers):
            worker = Worker(
                functools.partial(self._spawn, index), self._queue, self._convert, self._failed, self.options.window
            )
            worker.start()
            self._workers.append(worker)
        weakest = None
        for worker in self._workers:
            try:
                layers = worker.ready.result()
            except ExecutorError as error:
                raise LetiError(f"sandbox {self.name!r}: the executor could not start: {error}") from None
            rank = isolation.LEVELS.index(isolation.level_of(layers))
            if weakest is None or rank < weakest:
                weakest, self._layers = rank, dict(layers)

    def isolation(self) -> str:
        return self._isolation

    def layers(self) -> dict[str, dict[str, Any]]:
        return dict(self._layers)

    def verdicts(self) -> dict[str, str]:
        return {
            "python": "judged apart: the tests run in a judge process the program cannot reach, which "
            "compares plain values (a comparison of two of the program's own objects is marked "
            "'judged in process')",
            "steps": "judged apart where the environment gives a judge (javascript: a node process; cpp: the "
            "tests compiled into an executable run from memory); otherwise in process: the tests run "
            "inside the program's process, which holds the completion token, and a program that reads "
            "its own memory can forge a pass (each such verdict says 'judged in process')",
        }

    def run(self, programs: Sequence[Program], progress: ProgressCallback | None = None) -> list[ExecutionResult]:
        """Run ``programs`` on the workers; results in the order of ``programs``."""
        if not self._workers:
            raise LetiError(f"sandbox {self.name!r} is closed")
        jobs = [self._job(program) for program in programs]
        for job in jobs:
            self._queue.put(job)
        pending = {job.future for job in jobs}
        while pending:
            # Woken once per interval, not once per result: a wake-up per program costs a thread
            # switch and a GIL hand-over, a tenth of what running a short program costs.
            done, pending = wait(pending, timeout=PROGRESS_INTERVAL)
            if progress is not None and done:
                progress(len(done))
        return [job.future.result() for job in jobs]

    runs_steps = True

    @staticmethod
    def _job(program: Program) -> Job:
        if program.io_tests:
            return _io_job(program)
        if program.steps:
            steps = [_step(step) for step in program.steps]
            if program.judge is not None:  # judged apart: the tests follow the frame as raw bytes
                tests = _tests_bytes(program)
                message = {
                    "steps": steps,
                    "files": program.files,
                    "judge": _step(program.judge),
                    "tests_size": len(tests),
                    "tests_executable": program.tests_executable,
                    "output_limit": program.output_limit,
                }
                return Job(
                    message, sum(step.wall_limit for step in program.steps), frame=frames.encode(message) + tests
                )
            message = {
                "steps": steps,
                "files": program.files,
                "nonce": secrets.token_hex(16),
                "nonce_variable": NONCE_VARIABLE,
                "output_limit": program.output_limit,
            }
            return Job(message, sum(step.wall_limit for step in program.steps), frame=frames.encode(message))
        limits = {
            "timeout": program.wall_limit,
            "memory_mb": program.memory_mb,
            "cpu_seconds": program.cpu_seconds,
            "output_limit": program.output_limit,
        }
        if program.tests:  # judged apart: the tests follow the frame as raw bytes (see executor.py)
            tests = _tests_bytes(program)
            message = {"source": program.source, "tests_size": len(tests), **limits}
            return Job(message, program.wall_limit, frame=frames.encode(message) + tests)
        message = {"source": program.source, "nonce": secrets.token_hex(16), **limits}
        return Job(message, program.wall_limit, frame=frames.encode(message))

    def _convert(self, job: Job, message: dict[str, Any]) -> ExecutionResult:
        if "io" in message:
            if "step" in message:  # a step before the runs failed (the compiler)
                return judge_steps([message["step"]], job.message, self._isolation)
            return judge_io(message["run"], job.program, message["duration"], self._isolation, job.message.get("nonce"))
        if "steps" in message and "report_size" in message:  # judged apart: the last step served the judge
            last, step = message["steps"][-1], job.message["steps"][-1]
            result = judged({**last, **message}, step["cpu_seconds"], self._isolation)
            return result.model_copy(update={"step": last["name"], "returncode": last["returncode"]})
        if "steps" in message:
            return judge_steps(message["steps"], job.message, self._isolation)
        if "report_size" in message:
            return judged(message, job.message["cpu_seconds"], self._isolation)
        base = {
            "stdout": message["stdout"],
            "stderr": message["stderr"],
            "duration": message["duration"],
            "isolation": self._isolation,
        }
        if message["timed_out"]:
            return ExecutionResult(status="timed out", reason="timeout", limit="wall", **base)
        if not message["report"] and cpu_limit_hit(
            message["returncode"], message.get("cpu", 0.0), job.message["cpu_seconds"], message["duration"]
        ):
            return ExecutionResult(status="timed out", reason="timeout", limit="cpu", **base)
        report = Capture(1 << 20)
        report.data += message["report"].encode()
        report.dropped = int(message["report_overflow"])
        return judge(report, message["returncode"], job.message["nonce"], base)

    def _failed(self, job: Job, reason: str) -> ExecutionResult:
        return ExecutionResult(status="error", reason=f"sandbox error: {reason}", isolation=self._isolation)

    def close(self) -> None:
        """Stop the workers and their executors; no process is left behind."""
        with self._lock:
            workers, self._workers = self._workers, []
            for _ in workers:
                self._queue.put(STOP)
            for worker in workers:
                worker.join()
            self._release()


def _io_job(program: Program) -> Job:
    """A program judged by its standard output: the inputs in the frame, the expected outputs after
    it as raw bytes (read by the executor's comparer, never by the executor itself)."""
    expected = [expected_bytes(test, program.output_match) for test in program.io_tests]
    message: dict[str, Any] = {
        "inputs": [test.stdin for test in program.io_tests],
        "expected_sizes": [len(output) for output in expected],
        "output_match": program.output_match,
        "output_limit": program.output_limit,
    }
    runs = len(program.io_tests)
    if program.steps:
        message.update(steps=[_step(step) for step in program.steps], files=program.files)
        timeout = sum(step.wall_limit for step in program.steps[:-1]) + runs * program.steps[-1].wall_limit
    else:
        message.update(
            source=program.source,
            nonce=secrets.token_hex(16),
            timeout=program.wall_limit,
            memory_mb=program.memory_mb,
            cpu_seconds=program.cpu_seconds,
        )
        timeout = runs * program.wall_limit
    return Job(message, timeout, frame=frames.encode(message) + b"".join(expected), program=program)


def _tests_bytes(program: Program) -> bytes:
    """A judged program's tests as they follow its frame (text, or a judge's executable)."""
    return program.tests if isinstance(program.tests, bytes) else program.tests.encode()
