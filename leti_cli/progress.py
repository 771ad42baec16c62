"""Progress on stderr for long work: a bar in a terminal, plain lines in a log.

Outside a terminal (nohup, a batch scheduler, ``> log 2>&1``) every progress display, LeTI's own and
the tqdm bars of the libraries it calls, writes whole lines at most once per LINE_INTERVAL seconds."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import click

from leti_core import ProgressCallback

#: Seconds between two progress lines when stderr is not a terminal (LETI_PROGRESS_INTERVAL).
LINE_INTERVAL = float(os.environ.get("LETI_PROGRESS_INTERVAL", "30"))


@contextmanager
def progress_bar(total: int | None, description: str) -> Iterator[ProgressCallback]:
    """Yields an ``advance(n, total=None, unit=None)`` callback: a tqdm bar on a terminal; elsewhere
    a line every LINE_INTERVAL seconds (advanced or not, so a log shows the work is alive) and one at
    the end. Giving ``total`` restarts the rate's clock: ``n`` then is work done before (a resumed
    training), not counted in the rate."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        with tqdm(total=total, desc=description, unit="it", leave=False, dynamic_ncols=True) as bar:

            def advance(n: int, total: int | None = None, unit: str | None = None) -> None:
                if unit is not None:
                    bar.unit, bar.unit_scale = unit, True
                if total is None:
                    bar.update(n)
                    return
                bar.reset(total=total)
                bar.initial = bar.n = bar.last_print_n = n
                bar.refresh()

            yield advance
        return
    lines = ProgressLines(description, total, lambda line: click.echo(line, err=True), LINE_INTERVAL)
    with _heartbeat(lines):
        yield lines.advance
    lines.finish()


@contextmanager
def _heartbeat(lines: ProgressLines) -> Iterator[None]:
    """While inside: a line whenever ``lines.interval`` seconds pass without one."""
    if lines.interval <= 0:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lines.seconds_to_next()):
            lines.poll()

    thread = threading.Thread(target=beat, name="leti-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class ProgressLines:
    """Progress as plain lines: stage, done/total, rate, ETA; at most one line per ``interval``."""

    def __init__(
        self,
        description: str,
        total: int | None,
        emit: Callable[[str], None],
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description, self.total, self.emit, self.interval, self.clock = description, total, emit, interval, clock
        self.unit = ""
        self.done = 0
        self.started = self.last = clock()
        #: done and time when the rate's clock (re)started: at the start, and when the total is given
        self.base = (0, self.started)
        self.lock = threading.Lock()

    def advance(self, n: int, total: int | None = None, unit: str | None = None) -> None:
        with self.lock:
            self.done += n
            if unit is not None:
                self.unit = unit
            if total is not None:
                self.total = total
                self.base = (self.done, self.clock())
            self._due()

    def poll(self) -> None:
        """A line if ``interval`` seconds passed since the last one."""
        with self.lock:
            self._due()

    def seconds_to_next(self) -> float:
        """Seconds until the next line is due."""
        return max(0.0, self.last + self.interval - self.clock())

    def _due(self) -> None:
        if self.clock() - self.last >= self.interval:
            self.emit(self.line())
            self.last = self.clock()

    def finish(self) -> None:
        with self.lock:
            if self.done:
                self.emit(self.line())

    def line(self) -> str:
        now = self.clock()
        elapsed = max(1e-9, now - self.started)
        rate = (self.done - self.base[0]) / max(1e-9, now - self.base[1])
        unit = f" {self.unit}" if self.unit else ""
        speed = f"{_number(rate)}{unit}/s, {_duration(elapsed)} so far"
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta = f", ETA {_duration(left)}" if self.done < self.total else ""
            return f"{self.description}: {self.done}/{self.total}{unit} ({speed}{eta})"
        return f"{self.description}: {self.done}{unit} ({speed})"


def _number(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.2f}"


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


_BREAKS = re.compile(r"(\r|\n)")


class StatusLines:
    """A text stream (stderr outside a terminal) on which a line rewritten with carriage returns
    (a tqdm bar, any ``\\r`` status) becomes whole lines: its state at most once per ``interval``
    seconds, and its last state when it ends with a newline (as a terminal keeps it). Other text
    passes through unchanged; everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO, interval: float = LINE_INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.stream, self.interval, self.clock = stream, interval, clock
        self.status: str | None = None  # the text of the line being rewritten, None when there is none
        self.shown = ""  # what of it was written last
        self.open = False  # the stream's last line is passed-through text without its newline yet
        self.last = -float("inf")  # when a status was last written
        self.lock = threading.RLock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes with bytes to tell a binary stream
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self.lock:
            if self.status is None and "\r" not in text:
                self._out(text)
            else:
                self._parts(text)
        return len(text)

    def _parts(self, text: str) -> None:
        for index, part in enumerate(_BREAKS.split(text)):
            if part == "\r":  # what follows rewrites the line: the status so far is superseded
                if self.status is None and self.open:
                    self._out("\n")
                self.status = ""
            elif part == "\n" and self.status is not None:
                final = self.status.rstrip()
                if final and final != self.shown:
                    self._out(final + "\n")
                self.status, self.shown = None, ""
            elif part and self.status is not None and not (index == 0 and self.status.strip()):
                self.status += part
            elif part:  # text that does not follow a carriage return: a status shown before is over
                self.status, self.shown = None, ""
                self._out(part)
        if self.status is not None:
            self._offer()

    def _offer(self) -> None:
        status = (self.status or "").rstrip()
        if status and status != self.shown and self.clock() - self.last >= self.interval:
            self._out(status + "\n")
            self.shown, self.last = status, self.clock()

    def _out(self, text: str) -> None:
        self.stream.write(text)
        if text:
            self.open = not text.endswith("\n")

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def plain_progress_in_logs() -> None:
    """Outside a terminal, route stderr through StatusLines, so third-party progress bars (tqdm:
    transformers' GGUF conversion, huggingface_hub, datasets) write a line per LINE_INTERVAL instead
    of one endless line of carriage returns. The command line calls it once; it does nothing twice."""
    if not isinstance(sys.stderr, StatusLines) and not sys.stderr.isatty():
        sys.stderr = cast(TextIO, StatusLines(sys.stderr, LINE_INTERVAL))
