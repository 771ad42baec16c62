"""The `cpp` environment: g++ compiles prompt + completion + tests, then the program runs, both in
LeTI's sandbox.

The tests' `main` ends by calling LeTI's marker function, which writes the sandbox's nonce, so a
program passes only if its tests ran to the end (an `exit(0)` before them is a failure). The feedback is the compiler's diagnostics for the program's own file
(no include paths, no notes from the standard library, no caret lines), or the runtime failure:
the failed assert's line, an uncaught exception's `what()`, or the signal that killed it.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence

from pydantic import Field

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
)

from .tools import find_tool, unexplained

SOURCE = "program.cpp"
BINARY = "program"
#: Before the tests: what their `main` calls once its last assert has passed.
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

_DIAGNOSTIC = re.compile(rf"^{re.escape(SOURCE)}:(?P<line>\d+):(?P<column>\d+): (?P<kind>error|warning|note): (?P<message>.*)$")
_EXCERPT = re.compile(r"^\s*\d+\s+\|")
_ASSERTION = re.compile(rf"{re.escape(SOURCE)}:(?P<line>\d+): .*Assertion .* failed\.$")
SIGNAL_TYPES = {signal.SIGSEGV: "SegmentationFault", signal.SIGFPE: "FloatingPointError", signal.SIGBUS: "BusError",
                signal.SIGILL: "IllegalInstruction"}


def build_program(problem: Problem, completion: str) -> str:
    """prompt + completion, LeTI's marker function, then the tests, whose `main` calls it last."""
    return problem.prompt + completion + "\n" + HARNESS + "\n".join(_marked(test) for test in problem.tests) + "\n"


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
            text = line[match.start():]
            return ErrorInfo(type="AssertionError", message=text, text=text)
    if "terminate called after throwing" in stderr:
        text = "\n".join(line for line in stderr.splitlines() if line.strip())[-2000:]
        return ErrorInfo(type="UncaughtException", message=text.splitlines()[0], text=text)
    if returncode is not None and returncode < 0 and -returncode in signal.valid_signals():
        number = signal.Signals(-returncode)
        kind = SIGNAL_TYPES.get(number, number.name)
        return ErrorInfo(type=kind, message=f"killed by {number.name}", text=f"{kind}: the program was killed by {number.name}")
    return None


class CppEnvironment(SandboxedEnvironment):
    """Compiles and runs each completion with its problem's tests; diagnostics or the failure are the feedback."""

    name = "cpp"
    accepts = frozenset({"cpp"})
    probe = Probe(problem=Problem(task_id="probe", prompt="#include <cassert>\nint add(int a, int b) {\n",
                                  tests=["int main() {\n    assert(add(2, 3) == 5);\n}"]),
                  good="    return a + b;\n}\n", bad="    return a - b;\n}\n",
                  fix="check that the compiler runs (--env-option compiler=/path/to/g++) and `leti sandbox check`")

    class Options(SandboxOptions):
        compiler: str | None = Field(default=None, description="absolute path of g++ [the one on PATH]")
        flags: list[str] = Field(default_factory=lambda: ["-std=c++17", "-O1", "-w"],
                                 description="compiler flags (-w: warnings are not feedback)")
        link_flags: list[str] = Field(default_factory=list, description="after the source, e.g. ['-lcrypto'] for "
                                      "HumanEval-X's md5 problem")
        compile_timeout: float = Field(default=30.0, gt=0, description="CPU seconds the compiler may use")
        compile_memory_mb: int = Field(default=2048, ge=256, description="address-space limit of the compiler")

    def execute(self, problems: Sequence[Problem], completions: Sequence[str],
                progress: ProgressCallback | None = None) -> list[ExecutionResult]:
        compiler = find_tool(self.options.compiler, "g++", self.name, "compiler", "g++")
        steps = [
            Step(name="compile", argv=[compiler, *self.options.flags, "-fdiagnostics-color=never", "-o", BINARY, SOURCE,
                                          *self.options.link_flags],
                 timeout=self.options.compile_timeout, memory_mb=self.options.compile_memory_mb),
            Step(name="run", argv=[f"./{BINARY}"], timeout=self.options.timeout, wall_timeout=self.options.wall_timeout,
                 memory_mb=self.options.memory_mb),
        ]
        programs = [Program(files={SOURCE: build_program(problem, completion)}, steps=steps,
                            output_limit=self.options.output_limit)
                    for problem, completion in zip(problems, completions, strict=True)]
        return [_with_error(result) for result in self.run_programs(programs, progress)]


def _with_error(result: ExecutionResult) -> ExecutionResult:
    if result.status != "failed" or result.error is not None:
        return result
    if result.step == "compile":
        if f"{SOURCE}:" not in result.stderr:  # no diagnostic about the program: the compiler itself failed
            return unexplained(result, "the compiler")
        return result.model_copy(update={"error": compile_error(result.stderr)})
    error = runtime_error(result, result.returncode)
    return unexplained(result, "the program's runtime") if error is None else result.model_copy(update={"error": error})

