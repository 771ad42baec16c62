"""The `python` environment: prompt + completion + tests, run in a sandbox."""

from __future__ import annotations

from collections.abc import Sequence

from leti_core import (
    ExecutionResult,
    Probe,
    Problem,
    ProgressCallback,
    SandboxedEnvironment,
    SandboxOptions,
)


def build_program(problem: Problem, completion: str) -> str:
    """The program the paper runs: prompt + completion + newline + test setup + all asserts."""
    parts = [problem.prompt + completion, problem.test_setup, *problem.tests]
    return "\n".join(part for part in parts if part) + "\n"


def split_program(problem: Problem, completion: str) -> tuple[str, str]:
    """That program as the program's part and the tests' part, ``source + "\\n" + tests`` being it
    whole; the tests are judged apart (``Program.tests``)."""
    tests = "\n".join(part for part in (problem.test_setup, *problem.tests) if part)
    return problem.prompt + completion, tests + "\n" if tests else ""


class PythonEnvironment(SandboxedEnvironment):
    """Runs each completion with its problem's tests, judged apart from the program (the sandbox's
    judge calls the program's functions and compares plain values); a failure's traceback is the
    feedback."""

    name = "python"
    accepts = frozenset({"python"})
    probe = Probe(
        problem=Problem(task_id="probe", prompt="def add(a, b):\n", tests=["assert add(2, 3) == 5"]),
        good="    return a + b\n",
        bad="    return a - b\n",
        fix="see `leti sandbox check`, or choose the interpreter with --sandbox-option python=/path/to/python3",
    )

    class Options(SandboxOptions):
        pass

    def execute(
        self,
        problems: Sequence[Problem],
        completions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> list[ExecutionResult]:
        parts = [split_program(problem, completion) for problem, completion in zip(problems, completions, strict=True)]
        return self.run_sources([source for source, _ in parts], progress, tests=[tests for _, tests in parts])
