"""The `python` environment: prompt + completion + tests, run in a sandbox."""

from __future__ import annotations

from collections.abc import Sequence

from leti_core import ExecutionResult, Problem, ProgressCallback, SandboxedEnvironment, SandboxOptions


def build_program(problem: Problem, completion: str) -> str:
    """The program the paper runs: prompt + completion + newline + test setup + all asserts."""
    parts = [problem.prompt + completion, problem.test_setup, *problem.tests]
    return "\n".join(part for part in parts if part) + "\n"


class PythonEnvironment(SandboxedEnvironment):
    """Runs each completion with its problem's tests; a failure's traceback is the feedback."""

    name = "python"
    accepts = frozenset({"python"})

    class Options(SandboxOptions):
        pass

    def execute(
        self,
        problems: Sequence[Problem],
        completions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> list[ExecutionResult]:
        sources = [build_program(problem, completion) for problem, completion in zip(problems, completions, strict=True)]
        return self.run_sources(sources, progress)
