"""The `python` environment: prompt + completion + tests, run in a sandbox; or, for a problem with
standard-input tests, prompt + completion run once per test and judged by what it prints."""

from __future__ import annotations

from collections.abc import Sequence

from leti_core import (
    ExecutionResult,
    LetiError,
    Probe,
    Problem,
    Program,
    ProgressCallback,
    SandboxedEnvironment,
    SandboxOptions,
    io_output_limit,
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
        if not any(problem.io_tests for problem in problems):
            parts = [split_program(p, completion) for p, completion in zip(problems, completions, strict=True)]
            return self.run_sources([source for source, _ in parts], progress, tests=[tests for _, tests in parts])
        programs = [self.program(p, completion) for p, completion in zip(problems, completions, strict=True)]
        return self.run_programs(programs, progress)

    def program(self, problem: Problem, completion: str) -> Program:
        """The program of ``completion`` for ``problem``: judged apart by its asserts, or by what it
        prints for each of its standard-input tests (``Problem.io_tests``)."""
        if not problem.io_tests:
            source, tests = split_program(problem, completion)
            return Program(source=source, tests=tests, **self.options.limits())
        if problem.tests:
            raise LetiError(f"problem {problem.task_id}: has both asserts (tests) and io_tests; give it one kind")
        limits = {**self.options.limits(), "output_limit": io_output_limit(problem, self.options.output_limit)}
        return Program(
            source=problem.prompt + completion, io_tests=problem.io_tests, output_match=problem.output_match, **limits
        )
