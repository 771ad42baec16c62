"""The language tools an environment runs: finding them, and telling their failures from the program's."""

from __future__ import annotations

import shutil

from leti_core import ExecutionResult, LetiError


def find_tool(given: str | None, command: str, environment: str, option: str, package: str) -> str:
    """``given``, else ``command`` on PATH; a one-line error saying how to get one otherwise."""
    found = given or shutil.which(command)
    if found is None:
        raise LetiError(
            f"environment {environment!r} needs {command}: install it (apt install {package}), or pass "
            f"--env-option {option}=/path/to/{command}"
        )
    return found


def unexplained(result: ExecutionResult, tool: str) -> ExecutionResult:
    """A step that exited with an error status and no error its tool reports is the toolchain's
    failure, not the program's: status ``error`` (retried once, never trained on)."""
    if result.returncode is None or result.returncode <= 0:
        return result  # an early exit with status 0 or a signal: the program's doing
    tail = " ".join(result.stderr.strip().split())[-300:]
    reason = f"sandbox error: {result.step} exited with status {result.returncode} and no error {tool} reports"
    return result.model_copy(update={"status": "error", "reason": reason + (f": {tail}" if tail else "")})
