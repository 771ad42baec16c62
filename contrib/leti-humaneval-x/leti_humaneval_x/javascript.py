"""The `javascript` environment: Node.js runs prompt + completion, and its tests apart, in LeTI's sandbox.

The program runs in one node process (``served.js``), its tests in another (``judge.js``), which
calls the program's functions and gets plain values back, so every comparison is the judge's own
and the program's process never holds a test. A failed `console.assert` throws, in both (see
wire.js), so it ends the program with its stack as an assert does in Python. The feedback is Node's own report of the
uncaught error as the single program (prompt + completion + tests) gives it, kept to the
program's file: paths shortened to `program.js`, Node's internal frames and version line
removed, no caret line.

A problem with standard-input tests (``Problem.io_tests``) runs as `node program.js` once per test,
its input on stdin, judged by what it prints (the sandbox compares); a run that crashes has Node's
report of the error as above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources

from leti_core import (
    ErrorInfo,
    ExecutionResult,
    Frame,
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

from .tools import find_tool, unexplained

PROGRAM = "program.js"

_LOCATION = re.compile(r"^(?P<path>\S+?):(?P<line>\d+)$")
_ERROR = re.compile(r"^(?P<type>[A-Za-z_$][\w$]*)(?:: (?P<message>.*))?$")
_FRAME = re.compile(r"^\s+at (?:(?P<name>.+?) \()?(?P<path>[^()\s]*?):(?P<line>\d+):(?P<column>\d+)\)?$")


def build_program(problem: Problem, completion: str) -> str:
    """The single program the feedback speaks of: prompt + completion, then the tests."""
    return problem.prompt + completion + "\n" + "\n".join(problem.tests) + "\n"


def judged_tests(problem: Problem, completion: str) -> str:
    """What the judge reads on its stdin: the program's text and the tests, which together make
    ``build_program`` (so that a syntax error is reported as the single program gives it)."""
    return json.dumps({"source": problem.prompt + completion, "tests": "\n".join(problem.tests)})


def _script(*names: str) -> str:
    """The files as one `node -e` script, in a function of its own: none of its names is a global
    that the program or its tests could see (a test's `encode` is the program's, not the wire's)."""
    body = "".join(resources.files(__package__).joinpath(name).read_text() for name in names)
    return f"(function () {{\n{body}\n}})();\n"


def parse_error(stderr: str, program: str) -> ErrorInfo | None:
    """Node's report of an uncaught error, as ErrorInfo with the program's own frames."""
    lines = stderr.splitlines()
    source = program.splitlines()
    header_match = _LOCATION.match(lines[0]) if lines else None
    start = 0
    if header_match:  # "file:LINE", the line, the caret, a blank line, then the error
        start = next((i + 1 for i, line in enumerate(lines) if i > 0 and not line.strip()), 1)
    location = (
        int(header_match.group("line")) if header_match and header_match.group("path").endswith(PROGRAM) else None
    )
    header = next(
        (
            (i, m)
            for i, line in enumerate(lines[start:], start)
            if (m := _ERROR.match(line)) and not line.startswith(" ")
        ),
        None,
    )
    if header is None:
        return None
    index, match = header
    frames = []
    for line in lines[index + 1 :]:
        found = _FRAME.match(line)
        if found is None:
            if line.startswith("    at "):
                continue
            break
        if found.group("path").endswith(PROGRAM):
            number = int(found.group("line"))
            name = found.group("name") or "<anonymous>"
            frames.append(
                Frame(
                    lineno=number,
                    name="<module>" if name == "Object.<anonymous>" else name,
                    line=source[number - 1].strip() if 0 < number <= len(source) else "",
                )
            )
    error_type, message = match.group("type"), match.group("message") or ""
    syntax = error_type == "SyntaxError"
    if syntax and location is not None:
        frames = [
            Frame(
                lineno=location,
                name="<module>",
                line=source[location - 1].strip() if 0 < location <= len(source) else "",
            )
        ]
    text = [f"{PROGRAM}:{location}", f"    {frames[0].line}"] if syntax and location is not None else []
    text.append(f"{error_type}: {message}" if message else error_type)
    if not syntax:
        for frame in frames:
            where = (
                f"{PROGRAM}:{frame.lineno}"
                if frame.name in ("<module>", "<anonymous>")
                else f"{frame.name} ({PROGRAM}:{frame.lineno})"
            )
            text += [f"    at {where}", *([f"        {frame.line}"] if frame.line else [])]
    return ErrorInfo(type=error_type, message=message, frames=frames, syntax_error=syntax, text="\n".join(text))


class JavaScriptEnvironment(SandboxedEnvironment):
    """Runs each completion with its problem's tests under Node.js; the uncaught error is the feedback."""

    name = "javascript"
    accepts = frozenset({"javascript"})
    probe = Probe(
        problem=Problem(
            task_id="probe", prompt="const add = (a, b) => {\n", tests=["console.assert(add(2, 3) === 5);"]
        ),
        good="  return a + b;\n};\n",
        bad="  return a - b;\n};\n",
        fix="check that node runs (--env-option node=/path/to/node) and `leti sandbox check`",
    )
    #: What Node.js reads at start-up besides its own files: without it (a sandbox closed with
    #: Landlock), node exits with status 13 before running anything.
    tool_files = ("/etc/ssl/openssl.cnf",)

    class Options(SandboxOptions):
        memory_mb: int = Field(
            default=1024,
            ge=64,
            description="writable memory per program (RLIMIT_DATA: V8 reserves gigabytes of address space at start)",
        )
        node: str | None = Field(default=None, description="absolute path of node [the one on PATH]")

    def read_paths(self) -> list[str]:
        return list(self.tool_files)

    def execute(
        self, problems: Sequence[Problem], completions: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[ExecutionResult]:
        node = find_tool(self.options.node, "node", self.name, "node", "nodejs")
        limits = {**self.options.step_limits(), "memory_limit": "data"}
        # the scripts go on the command line: a file in the work folder, the program could rewrite
        step = Step(name="run", argv=[node, "-e", _script("wire.js", "served.js")], **limits)
        # one V8 worker thread for the judge: both processes count against the uid's process limit
        judge = Step(name="judge", argv=[node, "--v8-pool-size=1", "-e", _script("wire.js", "judge.js")], **limits)
        standalone = Step(name="run", argv=[node, PROGRAM], **limits)  # a program judged by its output
        pairs = list(zip(problems, completions, strict=True))
        programs = [
            Program(
                files={PROGRAM: problem.prompt + completion},
                steps=[standalone],
                io_tests=problem.io_tests,
                output_match=problem.output_match,
                output_limit=io_output_limit(problem, self.options.output_limit),
            )
            if problem.io_tests
            else Program(
                files={PROGRAM: problem.prompt + completion},
                steps=[step],
                judge=judge,
                tests=judged_tests(problem, completion),
                output_limit=self.options.output_limit,
            )
            for problem, completion in pairs
        ]
        results = self.run_programs(programs, progress)
        return [
            _with_io_error(result, problem.prompt + completion)
            if problem.io_tests
            else _with_error(result, build_program(problem, completion))
            for result, (problem, completion) in zip(results, pairs, strict=True)
        ]


def _with_io_error(result: ExecutionResult, source: str) -> ExecutionResult:
    """A standard-input test that crashed: Node's report of the error, where it made one (else the
    sandbox's account of the exit status or signal stays)."""
    if result.io_test is None or result.io_test.verdict != "runtime error":
        return result
    error = parse_error(result.stderr, source)
    return result if error is None else result.model_copy(update={"error": error})


def _with_error(result: ExecutionResult, source: str) -> ExecutionResult:
    if result.status == "failed" and result.error is not None and result.error.text and result.judged == "apart":
        error = parse_error(result.error.text, source)  # the judge's report of the uncaught error
        return result.model_copy(update={"error": error}) if error is not None else result
    if result.status != "failed" or result.error is not None:
        return result
    error = parse_error(result.stderr, source)
    if error is None:
        return unexplained(result, "node")
    return result.model_copy(update={"error": error})
