"""Training progress from a training process of its own to the caller's progress display: the
training process appends one JSON line a call, ``[n, {"total": ..., "unit": ...}]``, to a file
that the caller follows."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from leti_core import ProgressCallback, call_progress

#: how often the caller looks for new lines (seconds)
POLL_SECONDS = 0.2


class ProgressWriter:
    """The training process's progress callback: each call a line of ``path`` (rank 0 only, when
    several processes train)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.enabled = int(os.environ.get("RANK", "0")) == 0

    def __call__(self, n: int, **extra: Any) -> None:
        if self.enabled:
            with self.path.open("a") as file:
                file.write(json.dumps([n, extra]) + "\n")


class ProgressFollower:
    """Replays ``path``'s lines into ``progress`` on a thread while the training process runs;
    ``close()`` replays what is left and stops."""

    def __init__(self, path: Path, progress: ProgressCallback | None) -> None:
        self.path, self.progress = path, progress
        self.path.touch()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="leti-training-progress", daemon=True)
        if progress is not None:
            self._thread.start()

    def _follow(self) -> None:
        pending = ""
        with self.path.open() as file:
            while True:
                stopping = self._stop.is_set()  # read once more after the process ended
                pending += file.read()
                *lines, pending = pending.split("\n")
                for line in lines:
                    n, extra = json.loads(line)
                    call_progress(self.progress, n, **extra)  # type: ignore[arg-type]
                if stopping:
                    return
                time.sleep(POLL_SECONDS)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
