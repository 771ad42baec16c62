"""Keeping freed memory in the process while training on CPU, where glibc's malloc would hand every
large tensor fresh pages from the kernel (one page fault and a zeroing per 4 KiB, each step)."""

from __future__ import annotations

import ctypes
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt(3) parameters and glibc's defaults for them
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


@contextmanager
def freed_memory_kept(enabled: bool = True) -> Iterator[bool]:
    """While open, malloc serves large blocks from its heap and keeps what is freed for the next
    ones; on exit glibc's defaults are back and the kept memory is returned to the system.

    Yields whether it took effect: not off glibc, and not where the user tuned malloc themselves.
    """
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    tuned = "glibc.malloc." in tunables or any(name in os.environ for name in USER_SETTINGS)
    libc = _glibc() if enabled and not tuned else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    try:
        yield True
    finally:
        libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)


def release_memory() -> None:
    """Collect what reference cycles still hold and hand every freed page back to the system (also
    those below live blocks, which the heap's own trimming leaves), so that the next stage starts
    from what it needs."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(None)  # the symbols the process has loaded
    except (OSError, TypeError):  # platforms without dlopen(NULL)
        return None
    if not all(hasattr(libc, symbol) for symbol in ("mallopt", "malloc_trim", "gnu_get_libc_version")):
        return None
    return libc
