"""Rendering an execution result as the paper's textual feedback."""

from __future__ import annotations

from leti_core import ErrorInfo, ExecutionResult, IOTestFailure

PROGRAM_FILE = "program.py"


def render_error(error: ErrorInfo, show_compared: bool = False) -> str:
    """A traceback of the program's own frames; a SyntaxError shows its line without a caret; an
    error another language's tools reported, as they reported it. With ``show_compared``, a failed
    assert whose comparison the judge made between plain values ends with it, as pytest shows it."""
    if error.text:
        return error.text
    last_line = f"{error.type}: {error.message}" if error.message else error.type
    if show_compared and error.compared:
        last_line = f"{last_line}\n{error.compared}" if error.message else f"{error.type}: {error.compared}"
    if error.syntax_error:
        lines = []
        for frame in error.frames:
            lines.append(f'  File "{PROGRAM_FILE}", line {frame.lineno}')
            if frame.line:
                lines.append(f"    {frame.line}")
        return "\n".join([*lines, last_line])
    if not error.frames:
        return last_line
    lines = ["Traceback (most recent call last):"]
    for frame in error.frames:
        lines.append(f'  File "{PROGRAM_FILE}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line}")
        if frame.repeat:
            lines.append(f"  [Previous line repeated {frame.repeat} more times]")
    lines.append(last_line)
    return "\n".join(lines)


def render_io(failure: IOTestFailure) -> str:
    """The standard-input test a program failed: which, and how; its input; the output expected;
    the program's (``(empty)`` when it printed nothing but whitespace)."""
    note = " (only whitespace differs)" if failure.whitespace_only else ""
    lines = [f"Test {failure.test} failed: {failure.verdict}{note}."]
    for title, text in (
        ("Input", failure.stdin),
        ("Expected output", failure.expected),
        ("Your output", failure.actual),
    ):
        lines.append(f"{title}:\n{text}" if text.strip() else f"{title}: (empty)")
    return "\n".join(lines)


def render_error_of(result: ExecutionResult, show_compared: bool = False) -> str | None:
    """What ended a failed standard-input test run, for a runtime error: the program's own error."""
    if result.io_test is None or result.io_test.verdict != "runtime error":
        return None
    if result.error is not None:
        return render_error(result.error, show_compared)
    return result.reason


def render(result: ExecutionResult, show_compared: bool = False) -> str | None:
    """The feedback text for a result: None for a pass, `timeout` for a timeout; for a program judged
    by standard-input tests, the test it failed (``render_io``), then its own error if it crashed."""
    if result.passed:
        return None
    if result.io_test is not None:
        error = render_error_of(result, show_compared)
        return render_io(result.io_test) + (f"\n{error}" if error else "")
    if result.status == "timed out":
        return "timeout"
    if result.error is not None:
        return render_error(result.error, show_compared)
    return result.reason or result.status
