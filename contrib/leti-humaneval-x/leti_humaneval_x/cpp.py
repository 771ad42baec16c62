"""The `cpp` environment: g++ compiles each program and its judge; both run in LeTI's sandbox.

The tests are judged apart (see cpp_judging.py): the program is compiled with a stub that serves
its function, and the tests run in a judge of their own, which calls that function across a
channel, gets plain values back and compares them itself. The program's process holds no test,
and nothing it does there (an early exit, writes to any descriptor, a redefined assert) can pass
it. A problem whose judge cannot be built (a type the wire does not carry, a prompt that does not
end by opening its function) runs as one program with its tests, judged in process, and says so
(``judged: "in process"``); so does a completion that compiles only without the stub. The
feedback is the compiler's diagnostics about the single program (prompt + completion + tests:
no include paths, no notes from the standard library, no caret lines), or the runtime failure:
the failed assert at its line there, an uncaught exception's `what()`, or the signal that killed
the program.

A problem with standard-input tests (``Problem.io_tests``) is compiled once (prompt + completion,
no stub) and run once per test, its input on stdin, judged by what it prints (the sandbox
compares); a compiler error or a crash is reported as above.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from leti_core import (
    NONCE_VARIABLE,
    ErrorInfo,
    ExecutionResult,
    LetiError,
    Probe,
    Problem,
    Program,
    ProgressCallback,
    SandboxedEnvironment,
    SandboxOptions,
    Step,
    io_output_limit,
)
from pydantic import Field

from .cpp_judging import Judge, JudgeBuilder, served_source, signature
from .tools import find_tool, unexplained

logger = logging.getLogger(__name__)

SOURCE = "program.cpp"
BINARY = "program"
#: Judged in process, before the tests: what their `main` calls once its last assert has passed.
HARNESS = f"""
#include <cstdlib>
#include <cstring>
#include <unistd.h>
static void leti_tests_done() {{
    const char* nonce = std::getenv("{NONCE_VARIABLE}");
    if (nonce != nullptr && write(3, nonce, std::strlen(nonce)) < 0) std::abort();
}}
"""
MAX_DIAGNOSTIC_LINES = 20

_DIAGNOSTIC = re.compile(
    rf"^{re.escape(SOURCE)}:(?P<line>\d+):(?P<column>\d+): (?P<kind>error|warning|note): (?P<message>.*)$"
)
_EXCERPT = re.compile(r"^\s*\d+\s+\|")
_ASSERTION = re.compile(rf"{re.escape(SOURCE)}:(?P<line>\d+): .*Assertion .* failed\.$")
SIGNAL_TYPES = {
    signal.SIGSEGV: "SegmentationFault",
    signal.SIGFPE: "FloatingPointError",
    signal.SIGBUS: "BusError",
    signal.SIGILL: "IllegalInstruction",
}


def tests_offset(problem: Problem, completion: str) -> int:
    """How many lines of the single program come before its tests."""
    return (problem.prompt + completion).count("\n") + 1


def build_program(problem: Problem, completion: str) -> str:
    """The single program, judged in process: prompt + completion, LeTI's marker function, then the
    tests (numbered as in prompt + completion + tests), whose `main` calls the marker last."""
    tests = "\n".join(_marked(test) for test in problem.tests)
    return f'{problem.prompt}{completion}\n{HARNESS}#line {tests_offset(problem, completion) + 1} "{SOURCE}"\n{tests}\n'


def _marked(test: str) -> str:
    """The test with a call to the marker before the closing brace of its `main` (its last brace)."""
    end = test.rfind("}")
    if end < 0:
        raise LetiError("a C++ test must end with its main's closing brace (where LeTI marks that the tests ran)")
    return test[:end] + "leti_tests_done();\n" + test[end:]


def compile_error(stderr: str) -> ErrorInfo:
    """The diagnostics about the program's file, with their source excerpts, and nothing else."""
    kept: list[str] = []
    keep_excerpt = False
    first = ""
    for line in stderr.splitlines():
        if line.startswith(f"{SOURCE}:"):
            match = _DIAGNOSTIC.match(line)
            if match and match.group("kind") == "error" and not first:
                first = match.group("message")
            kept.append(line)
            keep_excerpt = True
        elif keep_excerpt and _EXCERPT.match(line):
            kept.append(line)
        else:
            keep_excerpt = False  # include chains, the standard library's notes, caret lines
    if len(kept) > MAX_DIAGNOSTIC_LINES:
        kept = kept[:MAX_DIAGNOSTIC_LINES] + [f"[{len(kept) - MAX_DIAGNOSTIC_LINES} more lines]"]
    text = "\n".join(kept) or stderr.strip()[-2000:]
    return ErrorInfo(type="CompileError", message=first, text=text)


def runtime_error(result: ExecutionResult, returncode: int | None) -> ErrorInfo | None:
    """A failed assert, an uncaught exception, or the signal that ended the program."""
    stderr = result.stderr
    for line in stderr.splitlines():
        match = _ASSERTION.search(line)
        if match:
            text = line[match.start() :]
            return ErrorInfo(type="AssertionError", message=text, text=text)
    if "terminate called after throwing" in stderr:
        text = "\n".join(line for line in stderr.splitlines() if line.strip())[-2000:]
        return ErrorInfo(type="UncaughtException", message=text.splitlines()[0], text=text)
    if returncode is not None and returncode < 0 and -returncode in signal.valid_signals():
        number = signal.Signals(-returncode)
        kind = SIGNAL_TYPES.get(number, number.name)
        return ErrorInfo(
            type=kind, message=f"killed by {number.name}", text=f"{kind}: the program was killed by {number.name}"
        )
    return None


class CppEnvironment(SandboxedEnvironment):
    """Compiles and runs each completion with its problem's tests; diagnostics or the failure are the feedback."""

    name = "cpp"
    accepts = frozenset({"cpp"})
    probe = Probe(
        problem=Problem(
            task_id="probe",
            prompt="#include <cassert>\nint add(int a, int b) {\n",
            tests=["int main() {\n    assert(add(2, 3) == 5);\n}"],
        ),
        good="    return a + b;\n}\n",
        bad="    return a - b;\n}\n",
        fix="check that the compiler runs (--env-option compiler=/path/to/g++) and `leti sandbox check`",
    )

    class Options(SandboxOptions):
        compiler: str | None = Field(default=None, description="absolute path of g++ [the one on PATH]")
        flags: list[str] = Field(
            default_factory=lambda: ["-std=c++17", "-O1", "-w"],
            description="compiler flags (-w: warnings are not feedback)",
        )
        link_flags: list[str] = Field(
            default_factory=list, description="after the source, e.g. ['-lcrypto'] for HumanEval-X's md5 problem"
        )
        compile_timeout: float = Field(default=30.0, gt=0, description="CPU seconds the compiler may use")
        compile_memory_mb: int = Field(default=2048, ge=256, description="address-space limit of the compiler")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._builder: JudgeBuilder | None = None
        self._warned: set[str] = set()

    def execute(
        self, problems: Sequence[Problem], completions: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[ExecutionResult]:
        compiler = find_tool(self.options.compiler, "g++", self.name, "compiler", "g++")
        judges = self._judges(compiler, [problem for problem in problems if not problem.io_tests])
        pairs = list(zip(problems, completions, strict=True))
        programs = [
            self._by_output(problem, completion, compiler)
            if problem.io_tests
            else self._apart(problem, completion, judges[problem.task_id], compiler)
            if judges[problem.task_id].executable is not None
            else self._in_process(problem, completion, compiler)
            for problem, completion in pairs
        ]
        results = self.run_programs(programs, progress)
        # Compiled with the stub, the program fails: the single program's compiler says why (the
        # paper's diagnostics), or, if it compiles alone, its tests run in its process.
        again = [
            index
            for index, (program, result) in enumerate(zip(programs, results, strict=True))
            if program.judge is not None and result.status == "failed" and result.step == "compile"
        ]
        rerun = self.run_programs([self._in_process(*pairs[index], compiler) for index in again])
        for index, result in zip(again, rerun, strict=True):
            results[index] = result
        return [_with_error(result) for result in results]

    def check(self) -> None:
        super().check()
        judge = self._judge_builder(find_tool(self.options.compiler, "g++", self.name, "compiler", "g++")).judge(
            self.probe.problem
        )
        if judge.executable is None:
            logger.warning(
                "cpp: programs are judged in their own process on this machine (%s): judges are linked "
                "statically (apt install libc6-dev libstdc++-12-dev)",
                judge.reason,
            )

    def _judge_builder(self, compiler: str) -> JudgeBuilder:
        if self._builder is None or self._builder.command[0] != compiler:
            self._builder = JudgeBuilder(
                compiler, self.options.flags, self.options.link_flags, self.options.compile_timeout
            )
        return self._builder

    def _judges(self, compiler: str, problems: Sequence[Problem]) -> dict[str, Judge]:
        """Each problem's judge, built on the host (in parallel, once per problem and compiler)."""
        builder = self._judge_builder(compiler)
        unique = list({problem.task_id: problem for problem in problems}.values())
        with ThreadPoolExecutor(max(1, min(len(unique), os.cpu_count() or 1))) as pool:
            built = dict(zip((problem.task_id for problem in unique), pool.map(builder.judge, unique), strict=True))
        for task_id, judge in built.items():
            if judge.executable is None and task_id not in self._warned:
                self._warned.add(task_id)
                logger.warning("cpp: %s is judged in the program's process: %s", task_id, judge.reason)
        return built

    def _steps(self, compiler: str) -> list[Step]:
        return [
            Step(
                name="compile",
                argv=[
                    compiler,
                    *self.options.flags,
                    "-fdiagnostics-color=never",
                    "-o",
                    BINARY,
                    SOURCE,
                    *self.options.link_flags,
                ],
                timeout=self.options.compile_timeout,
                memory_mb=self.options.compile_memory_mb,
            ),
            Step(name="run", argv=[f"./{BINARY}"], **self.options.step_limits()),
        ]

    def _apart(self, problem: Problem, completion: str, judge: Judge, compiler: str) -> Program:
        function = signature(problem.prompt)
        assert function is not None and judge.executable is not None  # a judge was built from it
        judge_step = Step(
            name="judge", argv=["./judge", str(tests_offset(problem, completion))], **self.options.step_limits()
        )
        return Program(
            files={SOURCE: served_source(problem.prompt + completion, function)},
            steps=self._steps(compiler),
            judge=judge_step,
            tests=judge.executable,
            tests_executable=True,
            output_limit=self.options.output_limit,
        )

    def _by_output(self, problem: Problem, completion: str, compiler: str) -> Program:
        """Compiled once, run once per standard-input test (``Program.io_tests``)."""
        return Program(
            files={SOURCE: problem.prompt + completion},
            steps=self._steps(compiler),
            io_tests=problem.io_tests,
            output_match=problem.output_match,
            output_limit=io_output_limit(problem, self.options.output_limit),
        )

    def _in_process(self, problem: Problem, completion: str, compiler: str) -> Program:
        return Program(
            files={SOURCE: build_program(problem, completion)},
            steps=self._steps(compiler),
            output_limit=self.options.output_limit,
        )


def _with_error(result: ExecutionResult) -> ExecutionResult:
    if result.io_test is not None:  # a standard-input test that crashed: what the runtime says, if anything
        error = runtime_error(result, result.returncode) if result.io_test.verdict == "runtime error" else None
        return result if error is None else result.model_copy(update={"error": error})
    if result.status == "failed" and result.step == "compile":
        result = result.model_copy(update={"judged": "apart"})  # the compiler's verdict: no code of the program ran
    if result.status != "failed" or result.error is not None:
        return result
    if result.step == "compile":
        if f"{SOURCE}:" not in result.stderr:  # no diagnostic about the program: the compiler itself failed
            return unexplained(result, "the compiler")
        return result.model_copy(update={"error": compile_error(result.stderr)})
    error = runtime_error(result, result.returncode)
    return unexplained(result, "the program's runtime") if error is None else result.model_copy(update={"error": error})
