"""Judging by standard output: comparing what a program printed with a test's expected output,
and the texts its feedback shows (``ExecutionResult.io_test``).

Sandboxes compare outside the program (``expected_bytes`` is what they compare a run's output
with, ``normalized`` what they make of the run's output first); environments build their
programs' ``io_tests`` with ``io_output_limit``.
"""

from __future__ import annotations

import signal

from .models import ErrorInfo, IOTest, IOTestFailure, IOVerdict, OutputMatch, Problem

#: What the feedback shows of an input or output: its first lines, each cut at its start.
SHOWN_LINES = 10
SHOWN_CHARS = 400
SHOWN_LINE_CHARS = 160


def normalized(output: bytes, match: OutputMatch) -> bytes:
    """``output`` as compared: as it is (exact), or with every run of ASCII whitespace (line ends
    included) made one space and the ends stripped (whitespace)."""
    return output if match == "exact" else b" ".join(output.split())


def expected_bytes(test: IOTest, match: OutputMatch) -> bytes:
    """What a run's normalized output must equal for ``test`` to pass."""
    return normalized(test.stdout.encode("utf-8"), match)


def output_matches(output: bytes, test: IOTest, match: OutputMatch) -> bool:
    return normalized(output, match) == expected_bytes(test, match)


def io_output_limit(problem: Problem, output_limit: int) -> int:
    """The output limit of a problem's test runs: the environment's, or twice the problem's longest
    expected output where that is more (a correct program is never cut short)."""
    longest = max((len(test.stdout.encode("utf-8")) for test in problem.io_tests), default=0)
    return max(output_limit, 2 * longest)


def clip_text(text: str, start: int = 0) -> str:
    """``text`` as the feedback shows it: its lines from line ``start`` (from 0; ``[... N earlier
    lines]`` first when it is not 0), up to ``SHOWN_LINES`` lines and ``SHOWN_CHARS`` characters,
    each line cut after ``SHOWN_LINE_CHARS`` with `` ...``, and ``[... N more lines]`` when lines
    were left out after them. A final line end is not shown."""
    lines = text.splitlines()
    start = min(start, len(lines))
    shown = [f"[... {start} earlier line{_plural(start)}]"] if start else []
    count = _shown(lines[start:])
    shown += [_cut(line) for line in lines[start : start + count]]
    more = len(lines) - start - count
    if more:
        shown.append(f"[... {more} more line{_plural(more)}]")
    return "\n".join(shown)


def _cut(line: str) -> str:
    return line if len(line) <= SHOWN_LINE_CHARS else line[:SHOWN_LINE_CHARS] + " ..."


def _shown(lines: list[str]) -> int:
    """How many of ``lines`` are shown (at least one, if any)."""
    size = 0
    for count, line in enumerate(lines):
        size += len(_cut(line)) + 1
        if count and (count == SHOWN_LINES or size > SHOWN_CHARS + 1):
            return count
    return len(lines)


def _plural(count: int) -> str:
    return "s" if count > 1 else ""


def _first_difference(expected: str, actual: str, match: OutputMatch) -> int:
    """The first line where ``actual`` differs from ``expected`` (line by line, each normalized)."""
    wanted, got = expected.splitlines(), actual.splitlines()
    for index, (line, printed) in enumerate(zip(wanted, got, strict=False)):
        if normalized(line.encode("utf-8"), match) != normalized(printed.encode("utf-8"), match):
            return index
    return min(len(wanted), len(got))


#: Lines shown before the first difference, when it is past what the start of the output shows.
CONTEXT_LINES = 2


def io_failure(number: int, test: IOTest, actual: str, verdict: IOVerdict, match: OutputMatch) -> IOTestFailure:
    """The failure of test ``number`` (from 1), its texts clipped for the feedback. For a wrong
    answer whose first differing line the start of the outputs would not show, both outputs are
    shown from ``CONTEXT_LINES`` lines before it."""
    whitespace_only = (
        verdict == "wrong answer"
        and match == "exact"
        and normalized(actual.encode("utf-8"), "whitespace") == expected_bytes(test, "whitespace")
    )
    start = 0
    if verdict == "wrong answer":
        difference = _first_difference(test.stdout, actual, match)
        if difference >= min(_shown(test.stdout.splitlines()), _shown(actual.splitlines())):
            start = max(difference - CONTEXT_LINES, 0)
    return IOTestFailure(
        test=number,
        verdict=verdict,
        stdin=clip_text(test.stdin),
        expected=clip_text(test.stdout, start),
        actual=clip_text(actual, start),
        whitespace_only=whitespace_only,
    )


def exit_error(returncode: int) -> ErrorInfo:
    """A run that ended with an error status, or by a signal, and said nothing its language's tools
    report: the status or the signal, as the error."""
    if returncode < 0 and -returncode in signal.valid_signals():
        name = signal.Signals(-returncode).name
        return ErrorInfo(type=name, message=f"killed by {name}", text=f"The program was killed by {name}.")
    return ErrorInfo(type="ExitStatus", message=str(returncode), text=f"The program exited with status {returncode}.")
