"""Host-side observations for the conformance suite: processes, memory, peaks over a run."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def marked_processes(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains ``marker``."""
    found = []
    needle = marker.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if needle not in handle.read():
                    continue
            with open(f"/proc/{name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def available_memory() -> int:
    """MemAvailable of the host, in bytes."""
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Peak:
    value: int = 0


@contextmanager
def watch(sample: Callable[[], int], interval: float = 0.02) -> Iterator[Peak]:
    """Sample ``sample()`` in a background thread while the block runs; ``.value`` is the peak."""
    peak = Peak(sample())
    done = threading.Event()

    def loop() -> None:
        while not done.wait(interval):
            peak.value = max(peak.value, sample())

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        peak.value = max(peak.value, sample())


def docker_engine_answers() -> bool:
    """Whether a Docker engine answers `docker info` here (for skipping the docker backend's tests)."""
    import subprocess

    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
