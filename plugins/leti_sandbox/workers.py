"""The host's side of the warm executors: one thread per worker, feeding its executor.

Jobs wait in one shared queue; each worker thread keeps up to ``window`` small jobs in flight
on its executor's pipe (so the executor starts the next program without waiting for the
host), and hands each result to the job's future. An executor that dies or stops answering
(``timeout + grace`` for the job at the head) is killed with its process group and started
again; the job it was running gets an ``error`` result, the others are sent again.
"""

from __future__ import annotations

import collections
import functools
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from leti_core import ExecutionResult, exit_status

from . import frames

STOP = object()
SMALL_FRAME = 16 * 1024  # pipelined only below this: both pipes then never fill up at once
GRACE = 10.0  # beyond a program's own timeout before its executor counts as stuck
# LD_BIND_NOW: the executor resolves its dynamic symbols once at start; lazily bound, a function
# first called after a fork (setresuid, prctl, ...) is resolved again in every child, a dozen page
# faults each. The executor clears its environment before any program runs.
EXECUTOR_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LD_BIND_NOW": "1"}


@dataclass
class Job:
    message: dict[str, Any]
    timeout: float
    future: Future = field(default_factory=Future)
    frame: bytes = b""
    program: Any = None  # the Program, where its result needs more of it than the frame holds


class ExecutorError(Exception):
    """The executor died or stopped answering."""


class ExecutorProcess:
    """One warm executor: start, handshake, send jobs, receive results in order, kill."""

    def __init__(self, command: Sequence[str], start_timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=EXECUTOR_ENV,
            cwd="/",
            start_new_session=True,
        )
        assert self.process.stdin and self.process.stdout
        self.jobs, self.results = self.process.stdin.fileno(), self.process.stdout.fileno()
        try:
            ready = self.receive(time.monotonic() + start_timeout)
        except ExecutorError as error:
            detail = self._stderr_tail()
            self.kill()
            raise ExecutorError(f"{error}{': ' + detail if detail else ''}") from None
        if not ready.get("ready"):
            self.kill()
            raise ExecutorError(f"unexpected handshake {ready!r}")
        self.layers: dict[str, dict[str, Any]] = ready["layers"]

    def send(self, frame: bytes) -> None:
        try:
            frames.write_all(self.jobs, frame)
        except OSError as error:
            raise ExecutorError(f"the executor stopped reading jobs ({error})") from None

    def receive(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([self.results], [], [], max(remaining, 0))
        if not ready:
            raise ExecutorError("the executor stopped answering")
        try:
            message = frames.read_frame(self.results)
        except (OSError, ValueError) as error:
            raise ExecutorError(f"the executor's answer was unreadable ({error})") from None
        if message is None:
            raise ExecutorError(f"the executor died ({self._status()})")
        size = message.get("report_size")
        if size is not None:  # a judged job: the judge's report follows as raw bytes
            data = frames.read_exact(self.results, size) if size else b""
            if data is None:
                raise ExecutorError(f"the executor died ({self._status()})")
            message["report"] = data
        return message

    def _status(self) -> str:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "still running"
        return exit_status(code)

    def _stderr_tail(self) -> str:
        assert self.process.stderr
        os.set_blocking(self.process.stderr.fileno(), False)
        try:
            data = self.process.stderr.read(65536) or b""
        except OSError:
            data = b""
        lines = data.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def kill(self) -> None:
        """Kill the executor's process group (its programs die with it) and reap it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream and stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask the executor to finish (end of its job stream), then make sure it is gone."""
        try:
            self.process.stdin and self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Worker(threading.Thread):
    """Feeds one executor from the shared queue; restarts it when it dies or stalls."""

    def __init__(
        self,
        start: Callable[[], ExecutorProcess],
        jobs: queue.Queue,
        convert: Callable[[Job, dict[str, Any]], ExecutionResult],
        failed: Callable[[Job, str], ExecutionResult],
        window: int,
    ) -> None:
        super().__init__(daemon=True, name="leti-sandbox-worker")
        self.start_executor, self.jobs, self.convert, self.failed = start, jobs, convert, failed
        self.window = window
        self.ready: Future = Future()  # the executor's layers, or the error that stopped it
        self.executor: ExecutorProcess | None = None

    def run(self) -> None:
        try:
            self.executor = self.start_executor()
        except BaseException as error:  # reported to the constructor through ``ready``
            self.ready.set_exception(error)
            return
        self.ready.set_result(self.executor.layers)
        try:
            self._serve()
        finally:
            if self.executor is not None:
                self.executor.close()

    def _serve(self) -> None:
        inflight: collections.deque[Job] = collections.deque()
        stopping = False
        while True:
            if not inflight:
                if stopping:
                    return
                item = self.jobs.get()
                if item is STOP:
                    return
                self._send(item, inflight)
            while not stopping and len(inflight) < self.window and self._pipelinable(inflight):
                try:
                    item = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if item is STOP:
                    stopping = True
                    break
                self._send(item, inflight)
            if inflight:  # empty when sending failed and the job was settled as a sandbox failure
                self._finish_head(inflight)

    @staticmethod
    def _pipelinable(inflight: collections.deque[Job]) -> bool:
        return sum(len(job.frame) for job in inflight) < SMALL_FRAME

    def _send(self, job: Job, inflight: collections.deque[Job]) -> None:
        if inflight and len(job.frame) >= SMALL_FRAME:
            while inflight:  # a large job waits until the pipe is empty
                self._finish_head(inflight)
        inflight.append(job)
        try:
            assert self.executor is not None
            self.executor.send(job.frame)
        except ExecutorError as error:
            self._recover(inflight, str(error))

    def _finish_head(self, inflight: collections.deque[Job]) -> None:
        head = inflight[0]
        try:
            assert self.executor is not None
            message = self.executor.receive(time.monotonic() + head.timeout + GRACE)
        except ExecutorError as error:
            self._recover(inflight, str(error))
            return
        inflight.popleft()
        _settle(head, lambda: self.convert(head, message))

    def _recover(self, inflight: collections.deque[Job], reason: str) -> None:
        """The head job fails with ``reason``; a new executor gets the others."""
        head = inflight.popleft()
        _settle(head, lambda: self.failed(head, reason))
        if self.executor is not None:
            self.executor.kill()
        self.executor = None
        try:
            self.executor = self.start_executor()
        except BaseException as error:
            reason = f"the sandbox could not restart: {error}"
            for job in inflight:
                _settle(job, functools.partial(self.failed, job, reason))
            inflight.clear()
            self._drain_queue(error)
            raise
        pending = list(inflight)
        inflight.clear()
        for job in pending:
            self._send(job, inflight)

    def _drain_queue(self, error: BaseException) -> None:
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                return
            if item is STOP:
                self.jobs.put(STOP)
                return
            _settle(item, functools.partial(self.failed, item, f"the sandbox could not restart: {error}"))


def _settle(job: Job, make: Callable[[], ExecutionResult]) -> None:
    try:
        job.future.set_result(make())
    except BaseException as error:
        job.future.set_exception(error)
