"""The parent's side of one sandboxed run: send the job, collect capped output and the report."""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from leti_core import ErrorInfo, ExecutionResult, IOVerdict, Program, exit_error, io_failure

REPORT_LIMIT = 1024 * 1024


@dataclass
class Capture:
    """Bytes read from one pipe, keeping at most ``limit`` and counting the rest."""

    limit: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text + (f"\n[{self.dropped} more bytes dropped]" if self.dropped else "")


def new_nonce() -> str:
    return secrets.token_hex(16)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process and everything it started in its process group."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def collect(
    process: subprocess.Popen[bytes], report_fd: int, program: Program, nonce: str, job: bytes
) -> ExecutionResult:
    """Feed the job, read stdout/stderr/report until exit or the deadline, and judge the run."""
    run = communicate(process, report_fd, program, job)
    base: dict[str, Any] = {"stdout": run["stdout"], "stderr": run["stderr"], "duration": run["duration"]}
    if run["timed_out"]:
        return ExecutionResult(status="timed out", reason="timeout", limit="wall", **base)
    report = run["report_capture"]
    if not report.data and cpu_limit_hit(run["returncode"], run["cpu"], program.cpu_seconds, run["duration"]):
        return ExecutionResult(status="timed out", reason="timeout", limit="cpu", **base)
    return judge(report, run["returncode"], nonce, base)


def communicate(
    process: subprocess.Popen[bytes], report_fd: int, program: Program, job: bytes, stop_on_overflow: bool = False
) -> dict[str, Any]:
    """Feed the job, read stdout/stderr/report until exit or the deadline (or, ``stop_on_overflow``,
    more stdout than the limit), kill the process group: how the run went, as the executor says it
    (with the report's ``report_capture``, and with ``stop_on_overflow`` the raw ``output``)."""
    started = time.monotonic()
    deadline = started + program.wall_limit
    assert process.stdin and process.stdout and process.stderr
    try:
        process.stdin.write(job)
        process.stdin.close()
    except BrokenPipeError:
        pass
    out = Capture(program.output_limit)
    captures = {
        process.stdout.fileno(): out,
        process.stderr.fileno(): Capture(program.output_limit),
        report_fd: Capture(REPORT_LIMIT),
    }
    timed_out = False
    exit_fd = os.pidfd_open(process.pid)
    with selectors.DefaultSelector() as selector:
        for fd in captures:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        selector.register(exit_fd, selectors.EVENT_READ)
        while len(selector.get_map()) > 1:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            events = selector.select(remaining)
            if any(key.fd == exit_fd for key, _ in events):
                # The harness exited: take what is buffered, and stop waiting for pipes that
                # processes it left behind may still hold open.
                _drain(selector, captures, exit_fd)
                break
            for key, _ in events:
                _read(selector, captures, key.fd)
            if stop_on_overflow and out.dropped:
                break
    os.close(exit_fd)
    kill_group(process)  # also ends whatever the program left running in its group
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = returncode = os.waitstatus_to_exitcode(status)
    report = captures[report_fd]
    run = {
        "stdout": captures[process.stdout.fileno()].text(),
        "stderr": captures[process.stderr.fileno()].text(),
        "report": report.data.decode("utf-8", errors="replace"),
        "report_capture": report,
        "returncode": returncode,
        "timed_out": timed_out,
        "duration": time.monotonic() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    if stop_on_overflow:
        run["output"] = bytes(out.data)
        run["stdout"] = out.data.decode("utf-8", errors="replace")
        run["stdout_overflow"] = bool(out.dropped)
    return run


def _read(selector: selectors.BaseSelector, captures: dict[int, Capture], fd: int) -> bool:
    """Read one chunk; unregister the pipe at end of file. Returns whether data came."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return False
    if chunk:
        captures[fd].add(chunk)
        return True
    selector.unregister(fd)
    return False


def _drain(selector: selectors.BaseSelector, captures: dict[int, Capture], exit_fd: int) -> None:
    for fd in [fd for fd in selector.get_map() if isinstance(fd, int) and fd != exit_fd]:
        while _read(selector, captures, fd):
            pass


def cpu_limit_hit(returncode: int, cpu_used: float, cpu_seconds: int, duration: float) -> bool:
    """The kernel ended the program at its CPU limit (RLIMIT_CPU: SIGXCPU, then SIGKILL): killed
    after its limit in CPU time, or in wall time, since the kernel's CPU clock counts time that
    rusage leaves out (a VM's stolen time) and rusage then reports less than the limit."""
    killed = returncode in (-signal.SIGKILL, -signal.SIGXCPU)
    return killed and (cpu_used >= cpu_seconds - 0.05 or duration >= cpu_seconds)


def judge(report: Capture, returncode: int, nonce: str, base: dict) -> ExecutionResult:
    """Turn the harness's report (or its absence) into a result."""
    if not report.data:
        return ExecutionResult(status="failed", reason=_ended(returncode), **base)
    try:
        value = json.loads(report.data)
        valid = isinstance(value, dict) and value.get("nonce") == nonce and not report.dropped
    except ValueError:
        valid = False
    if not valid:
        return ExecutionResult(status="failed", reason="the program wrote on the harness's result channel", **base)
    if value.get("completed"):
        return ExecutionResult(status="passed", judged="in process", **base)
    error = ErrorInfo.model_validate(value.get("error") or {"type": "UnknownError"})
    return ExecutionResult(status="failed", error=error, judged="in process", **base)


def _signal_name(returncode: int) -> str:
    return signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)


def _ended(returncode: int) -> str:
    """Why a program that gave no verdict failed: the signal that killed it, or its early exit."""
    if returncode < 0:
        return f"the program was killed by {_signal_name(returncode)}"
    return f"the program exited (status {returncode}) before its tests finished"


def judged(message: dict, cpu_seconds: int, isolation: str) -> ExecutionResult:
    """The result of a program judged apart, from the judge's report and how both processes ended."""
    base = {
        "stdout": message["stdout"],
        "stderr": message["stderr"],
        "duration": message["duration"],
        "isolation": isolation,
    }
    if message["timed_out"]:
        return ExecutionResult(status="timed out", reason="timeout", limit="wall", **base)
    try:
        report = json.loads(message["report"]) if message["report"] else None
    except ValueError:
        report = None
    if not isinstance(report, dict):  # the judge ended without a report
        code = message["judge_returncode"]
        if cpu_limit_hit(code, message["judge_cpu"], cpu_seconds, message["duration"]):
            return ExecutionResult(status="timed out", reason="timeout", limit="cpu", **base)
        if code < 0:
            return ExecutionResult(status="failed", reason=f"the judge was killed by {_signal_name(code)}", **base)
        return ExecutionResult(status="error", reason=f"sandbox error: the judge exited with status {code}", **base)
    if "internal" in report:
        return ExecutionResult(status="error", reason=f"sandbox error: the judge failed: {report['internal']}", **base)
    base["judged"] = "in process" if report.get("judged") == "in process" else "apart"
    if report.get("completed") is True:
        return ExecutionResult(status="passed", **base)
    if report.get("error"):
        return ExecutionResult(status="failed", error=ErrorInfo.model_validate(report["error"]), **base)
    if cpu_limit_hit(message["returncode"], message["cpu"], cpu_seconds, message["duration"]):
        return ExecutionResult(status="timed out", reason="timeout", limit="cpu", **base)
    return ExecutionResult(status="failed", reason=_ended(message["returncode"]), **base)


def judge_steps(steps: list[dict], job: dict, isolation: str) -> ExecutionResult:
    """The result of a program of steps, from what its steps did (the last one ended it): passed
    when every step exited with status 0 and the last wrote the nonce on its report descriptor."""
    last = steps[-1]
    base = {
        "stdout": last["stdout"],
        "stderr": last["stderr"],
        "duration": sum(step["duration"] for step in steps),
        "isolation": isolation,
        "step": last["name"],
        "returncode": last["returncode"],
        "judged": "apart" if "judge" in job else "in process",
    }
    limits = {step["name"]: step for step in job["steps"]}
    if last["timed_out"]:
        return ExecutionResult(status="timed out", reason="timeout", limit="wall", **base)
    if cpu_limit_hit(last["returncode"], last.get("cpu", 0.0), limits[last["name"]]["cpu_seconds"], last["duration"]):
        return ExecutionResult(status="timed out", reason="timeout", limit="cpu", **base)
    returncode = last["returncode"]
    if returncode < 0:
        return ExecutionResult(status="failed", reason=f"{last['name']}: killed by {_signal_name(returncode)}", **base)
    if returncode != 0:
        return ExecutionResult(status="failed", reason=f"{last['name']}: exit status {returncode}", **base)
    if len(steps) < len(job["steps"]):  # cannot happen: a step that exits 0 is followed by the next
        return ExecutionResult(status="error", reason="sandbox error: a step was skipped", **base)
    if last["report"] != job["nonce"] or last.get("report_overflow"):
        reason = (
            "the program wrote on the sandbox's result descriptor"
            if last["report"]
            else "the program ended before its tests finished"
        )
        return ExecutionResult(status="failed", reason=reason, **base)
    return ExecutionResult(status="passed", **base)


def judge_io(
    run: dict[str, Any], program: Program, duration: float, isolation: str | None, nonce: str | None
) -> ExecutionResult:
    """The result of a program judged by its standard output, from its last run: the first test it
    failed (a wrong answer, a runtime error, its time, its output limit), or the last test, passed.
    ``nonce``: a Python program's, whose harness reports its exception on fd 3."""
    index = run["test"]
    base: dict[str, Any] = {
        "stdout": run["stdout"],
        "stderr": run["stderr"],
        "duration": duration,
        "isolation": isolation,
        "judged": "apart",
    }
    if program.steps:
        base.update(step=program.steps[-1].name, returncode=run["returncode"])
    if run.get("matched"):
        if index != len(program.io_tests) - 1:  # cannot happen: a test passed is followed by the next
            return ExecutionResult(status="error", reason="sandbox error: a test was skipped", **base)
        return ExecutionResult(status="passed", **base)

    def failed(verdict: IOVerdict, **fields: Any) -> ExecutionResult:
        failure = io_failure(index + 1, program.io_tests[index], run["stdout"], verdict, program.output_match)
        return ExecutionResult(io_test=failure, **base, **fields)

    limits = program.steps[-1] if program.steps else program
    returncode = run["returncode"]
    if run["stdout_overflow"]:
        flood = ErrorInfo(type="OutputLimitExceeded", message=f"more than {program.output_limit} bytes of output")
        return failed("output limit exceeded", status="failed", error=flood)
    if run["timed_out"]:
        return failed("time limit exceeded", status="timed out", reason="timeout", limit="wall")
    if cpu_limit_hit(returncode, run.get("cpu") or 0.0, limits.cpu_seconds, run["duration"]):
        return failed("time limit exceeded", status="timed out", reason="timeout", limit="cpu")
    if returncode != 0:
        error = _reported(run.get("report", ""), nonce) if nonce is not None else None
        return failed("runtime error", status="failed", error=error or exit_error(returncode))
    return failed("wrong answer", status="failed", error=ErrorInfo(type="WrongAnswer", message=f"test {index + 1}"))


def _reported(report: str, nonce: str) -> ErrorInfo | None:
    """The exception a Python program's harness reported, when the report is the harness's."""
    try:
        value = json.loads(report) if report else None
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("nonce") != nonce or not isinstance(value.get("error"), dict):
        return None
    try:
        return ErrorInfo.model_validate(value["error"])
    except ValueError:
        return None
