"""leti_core.Worker: an object's methods served from a process of its own."""

from __future__ import annotations

import io
import os
import sys
import textwrap
import time

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

    def slowly(self, n: int, seconds: float, progress=None):
        for value in range(n):
            yield value
            time.sleep(seconds)

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


def test_a_process_that_dies_while_answering_is_a_one_line_error_naming_how():
    with pytest.raises(LetiError, match=r"^a dying process ended unexpectedly \(exit status 3\)$"):
        call_in_process("a dying process", "os:_exit", 3)
    with pytest.raises(
        LetiError, match=r"^a signalled process ended unexpectedly \(killed by signal 15 \(SIGTERM\)\)$"
    ):
        call_in_process("a signalled process", "signal:raise_signal", 15)


def test_the_process_output_reaches_this_process_stderr(monkeypatch):
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    assert call_in_process("a printing process", "builtins:print", "a line\rits last state") is None
    assert captured.getvalue() == "a line\rits last state\n"  # carriage returns kept, for the log's lines


def test_an_os_error_there_is_the_same_os_error_here():
    with pytest.raises(FileNotFoundError) as raised:
        call_in_process("a stat process", "os:stat", "/no/such/leti/file")
    assert raised.value.filename == "/no/such/leti/file"


def test_a_stream_left_unfinished_kills_the_busy_process_at_once_and_quietly(capfd):
    worker = Worker("a slow process", Counter, 0)
    stream = worker.stream("slowly", 3, 20.0)
    assert next(stream) == 0
    process = worker._process
    started = time.monotonic()
    stream.close()  # the next item is 20 s away: the worker is not waited for
    assert time.monotonic() - started < 5 and process.poll() is not None
    with pytest.raises(LetiError, match=r"^a slow process was closed: make a new one$"):
        worker.call("pid")
    worker.close()
    assert "Traceback" not in capfd.readouterr().err


def test_one_request_at_a_time():
    with Worker("a counting process", Counter, 0) as worker:
        stream = worker.stream("count", 3)
        assert next(stream) == 0
        with pytest.raises(
            LetiError, match=r"^a counting process is still answering a request: it takes one at a time$"
        ):
            worker.call("pid")
        assert list(stream) == [1, 2]  # the refused call took nothing from the stream
        assert worker.call("pid") > 0


def test_the_object_is_built_from_this_process_sys_path_and_a_failure_to_build_says_why(tmp_path, monkeypatch):
    (tmp_path / "leti_worker_probe.py").write_text(
        textwrap.dedent(
            """
            class Probe:
                def where(self):
                    return __file__
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # only this process's sys.path finds the module
    import leti_worker_probe

    with Worker("a probing process", leti_worker_probe.Probe) as worker:
        assert worker.call("where") == str(tmp_path / "leti_worker_probe.py")
    os.remove(tmp_path / "leti_worker_probe.py")  # now the module cannot be imported there
    worker = Worker("a probing process", leti_worker_probe.Probe)
    with pytest.raises(RuntimeError, match=r"(?s)^a probing process failed:.*ModuleNotFoundError.*leti_worker_probe"):
        worker.call("where")
    worker.close()


def _children() -> set[int]:
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as file:
        return {int(pid) for pid in file.read().split()}


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task"), reason="lists children through Linux's /proc")
def test_a_build_that_does_not_pickle_leaves_no_process_behind():
    before = _children()
    with pytest.raises(Exception, match="pickle|lambda"):
        Worker("an unpicklable process", lambda: Counter(0))
    assert _children() <= before
