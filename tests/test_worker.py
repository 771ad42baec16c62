"""leti_core.Worker: an object's methods served from a process of its own."""

from __future__ import annotations

import io
import sys

import pytest

from leti_core import LetiError, Worker, call_in_process


class Counter:
    """Served in the tests' worker processes (built there from this module)."""

    def __init__(self, start: int) -> None:
        self.start = start

    def count(self, n: int, progress=None):
        for value in range(self.start, self.start + n):
            if progress is not None:
                progress(1, total=n, unit="values")
            yield value

    def fail(self, message: str) -> None:
        raise LetiError(message)

    def pid(self) -> int:
        import os

        return os.getpid()


def test_a_stream_gives_the_items_and_the_progress_of_the_served_object():
    ticks = []
    with Worker("a counting process", Counter, 5) as worker:
        assert list(worker.stream("count", 3, progress=lambda n, total, unit: ticks.append((n, total, unit)))) == [
            5,
            6,
            7,
        ]
        assert ticks == [(1, 3, "values")] * 3
        counted = []  # a callback that only counts still gets every call
        assert list(worker.stream("count", 2, progress=counted.append)) == [5, 6]
        assert counted == [1, 1]
        assert worker.call("pid") != __import__("os").getpid()


def test_a_leti_error_there_is_the_same_one_line_error_here_and_the_process_goes_on():
    with Worker("a counting process", Counter, 0) as worker:
        with pytest.raises(LetiError, match=r"^no such file: x\.jsonl$"):
            worker.call("fail", "no such file: x.jsonl")
        assert worker.alive and list(worker.stream("count", 1)) == [0]


def test_another_exception_there_is_raised_here_with_its_traceback():
    with pytest.raises(RuntimeError, match=r"(?s)^a parsing process failed:\n.*JSONDecodeError"):
        call_in_process("a parsing process", "json:loads", "{not json")


def test_a_process_that_dies_while_answering_is_a_one_line_error():
    with pytest.raises(LetiError, match=r"^a dying process ended unexpectedly \(exit 3;") as raised:
        call_in_process("a dying process", "os:_exit", 3)
    assert "\n" not in str(raised.value)


def test_the_process_output_reaches_this_process_stderr(monkeypatch):
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    assert call_in_process("a printing process", "builtins:print", "a line\rits last state") is None
    assert captured.getvalue() == "a line\rits last state\n"  # carriage returns kept, for the log's lines
