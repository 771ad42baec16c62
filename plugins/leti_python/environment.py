"""The `python` environment: prompt + completion + tests, run in a sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from leti_core import (
    Environment,
    ExecutionResult,
    Options,
    Problem,
    Program,
    ProgressCallback,
    Sandbox,
    get_registry,
)


def build_program(problem: Problem, completion: str) -> str:
    """The program the paper runs: prompt + completion + newline + test setup + all asserts."""
    parts = [problem.prompt + completion, problem.test_setup, *problem.tests]
    return "\n".join(part for part in parts if part) + "\n"


class PythonEnvironment(Environment):
    """Runs each completion with its problem's tests; a failure's traceback is the feedback."""

    name = "python"
    accepts = frozenset({"python"})

    class Options(Options):
        timeout: float = Field(default=5.0, gt=0, description="wall-clock seconds per program")
        memory_mb: int = Field(default=1024, ge=64, description="address-space limit per program")
        output_limit: int = Field(default=64 * 1024, ge=1024, description="stdout/stderr bytes kept")
        sandbox: str = Field(default="local", description="sandbox backend by name")
        sandbox_options: dict[str, Any] = Field(default_factory=dict)

    def __init__(self, *, sandbox_instance: Sandbox | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._sandbox = sandbox_instance
        self._owns_sandbox = sandbox_instance is None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = get_registry().sandbox(self.options.sandbox, **self.options.sandbox_options)
        return self._sandbox

    def execute(
        self,
        problems: Sequence[Problem],
        completions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> list[ExecutionResult]:
        programs = [
            Program(
                source=build_program(problem, completion),
                timeout=self.options.timeout,
                memory_mb=self.options.memory_mb,
                output_limit=self.options.output_limit,
            )
            for problem, completion in zip(problems, completions, strict=True)
        ]
        return self.sandbox.run(programs, progress=progress)

    def close(self) -> None:
        if self._sandbox is not None and self._owns_sandbox:
            self._sandbox.close()
            self._sandbox = None
