"""Progress on stderr for long work: a bar in a terminal, plain lines in a log."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from leti_core import ProgressCallback

#: Seconds between two progress lines when stderr is not a terminal (LETI_PROGRESS_INTERVAL).
LINE_INTERVAL = float(os.environ.get("LETI_PROGRESS_INTERVAL", "30"))


@contextmanager
def progress_bar(total: int | None, description: str) -> Iterator[ProgressCallback]:
    """Yields an ``advance(n, total=None)`` callback: a tqdm bar on a terminal; elsewhere (nohup, a
    batch scheduler, ``> log``) a line every LINE_INTERVAL seconds and one at the end."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        with tqdm(total=total, desc=description, unit="it", leave=False, dynamic_ncols=True) as bar:

            def advance(n: int, total: int | None = None) -> None:
                if total is not None:
                    bar.total = total
                    bar.refresh()
                bar.update(n)

            yield advance
        return
    lines = ProgressLines(description, total, lambda line: click.echo(line, err=True))
    yield lines.advance
    lines.finish()


class ProgressLines:
    """Progress as plain lines: stage, done/total, rate, ETA."""

    def __init__(
        self,
        description: str,
        total: int | None,
        emit: Callable[[str], None],
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description, self.total, self.emit, self.interval, self.clock = description, total, emit, interval, clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, n: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        self.done += n
        if self.clock() - self.last >= self.interval:
            self.emit(self.line())
            self.last = self.clock()

    def finish(self) -> None:
        if self.done:
            self.emit(self.line())

    def line(self) -> str:
        elapsed = max(1e-9, self.clock() - self.started)
        rate = self.done / elapsed
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta = f", ETA {_duration(left)}" if self.done < self.total else ""
            return f"{self.description}: {self.done}/{self.total} ({rate:.2f}/s, {_duration(elapsed)} so far{eta})"
        return f"{self.description}: {self.done} ({rate:.2f}/s, {_duration(elapsed)} so far)"


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )
