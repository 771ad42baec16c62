"""Progress bars on stderr for long work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from leti_core import ProgressCallback


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[ProgressCallback]:
    """A bar that shows on terminals and stays quiet in logs; yields an ``advance(n)`` callback."""
    with tqdm(total=total, desc=description, unit="it", leave=False, disable=None, dynamic_ncols=True) as bar:

        def advance(n: int, total: int | None = None) -> None:
            if total is not None:
                bar.total = total
                bar.refresh()
            bar.update(n)

        yield advance
