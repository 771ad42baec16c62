"""The memory allocator of a CPU training: gperftools' tcmalloc, preloaded into a process of its
own, where installed. Training churns through large tensors of a few shapes; glibc's heap leaves
holes between them that tcmalloc's size classes do not (on 2 cores with SmolLM2-135M, 100k tokens:
1.24x the tokens/s and 5.88 GiB peak against 7.89, the same losses; benchmarks/training_throughput.py)."""

from __future__ import annotations

import ctypes.util
import os
from collections.abc import Callable
from typing import Literal

from leti_core import LetiError

from .placement import in_own_process

Allocator = Literal["auto", "tcmalloc", "system"]

#: libraries the dynamic loader may already preload; a user's own choice is kept
PRELOADED_ALLOCATORS = ("tcmalloc", "jemalloc", "mimalloc")
#: the library names tried, smallest first (gperftools' minimal build has no heap profiler)
TCMALLOC_LIBRARIES = ("tcmalloc_minimal", "tcmalloc")


def find_tcmalloc() -> str | None:
    """The loader's name for tcmalloc on this machine (Debian: ``libtcmalloc-minimal4``), or None."""
    for name in TCMALLOC_LIBRARIES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def preloaded() -> bool:
    """Whether this process was started with an allocator preloaded (``LD_PRELOAD``)."""
    return any(name in os.environ.get("LD_PRELOAD", "") for name in PRELOADED_ALLOCATORS)


def training_preload(choice: Allocator, model: str, on_cpu: Callable[[], bool]) -> tuple[str | None, str | None]:
    """(the library to preload into a training process of its own, or None to train in this
    process; why, when the choice is worth a line in the log), for the ``allocator`` option.
    ``on_cpu`` is asked last (it costs a process's start, to import torch)."""
    if choice == "system" or preloaded():
        return None, None
    library = find_tcmalloc()
    if choice == "tcmalloc":
        if library is None:
            raise LetiError(
                "trainer 'hf': allocator=tcmalloc, but no tcmalloc library is installed "
                "(Debian/Ubuntu: apt install libtcmalloc-minimal4)"
            )
        return library, "allocator=tcmalloc"
    if not in_own_process("auto", model) or not on_cpu():
        return None, None
    if library is None:
        return None, "tcmalloc is not installed (Debian/Ubuntu: apt install libtcmalloc-minimal4; see `allocator`)"
    return library, "allocator=auto, on CPU"


def preload_environment(library: str) -> dict[str, str]:
    """This process's environment with ``library`` preloaded."""
    current = os.environ.get("LD_PRELOAD", "")
    return {**os.environ, "LD_PRELOAD": f"{library}:{current}" if current else library}
