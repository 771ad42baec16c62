"""The check an environment runs before any work: is a known-good program judged a pass, and a
known-failing one a failure, through the very sandbox the run will use?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from .errors import LetiError
from .models import ExecutionResult, Problem

if TYPE_CHECKING:
    from .components import Environment

STDERR_TAIL = 300


class Probe(BaseModel):
    """A problem with a completion that solves it and one that fails its tests."""

    model_config = ConfigDict(frozen=True)

    problem: Problem
    good: str = Field(description="a completion that passes")
    bad: str = Field(description="a completion that fails the tests (not one that crashes the tools)")
    fix: str = Field(default="", description="what to try when the tools fail, for the error message")


ENDED = {"passed": "passed", "failed": "failed", "timed out": "timed out", "error": "could not run"}


def _what_happened(result: ExecutionResult) -> str:
    where = f"{result.step} step" if result.step else "program"
    how = result.reason or (f"{result.error.type}: {result.error.message}" if result.error else result.status)
    if result.returncode and "status" not in how and "signal" not in how:
        how += f" (exit status {result.returncode})" if result.returncode > 0 else f" (signal {-result.returncode})"
    tail = " ".join(result.stderr.strip().split())[-STDERR_TAIL:]
    return f"its {where} {ENDED[result.status]}: {how}{': ' + tail if tail and tail not in how else ''}"


def check_toolchain(environment: Environment) -> None:
    """Raise LetiError, one line naming the step, its stderr and the fix, when the environment's
    ``probe`` is judged wrongly (nothing happens for an environment without one)."""
    probe = environment.probe
    if probe is None:
        return
    good, bad = environment.execute([probe.problem, probe.problem], [probe.good, probe.bad])
    fix = f"; {probe.fix}" if probe.fix else ""
    if not good.passed:
        raise LetiError(
            f"environment {environment.name!r} cannot judge programs here: a known-good program did not "
            f"pass, {_what_happened(good)}{fix}"
        )
    if bad.status != "failed":
        raise LetiError(
            f"environment {environment.name!r} cannot judge programs here: a known-failing program was "
            f"not judged a failure, {_what_happened(bad)}{fix}"
        )
