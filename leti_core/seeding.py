"""Seeds for independent random streams: one per (seed, stream), stable across runs and machines."""

from __future__ import annotations

import hashlib


def stream_seed(seed: int, *stream: object) -> int:
    """A 31-bit seed for the random stream named by ``stream`` under ``seed``."""
    digest = hashlib.sha256(repr((seed, *stream)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
