"""The order of training sequences: global batches of feedback texts alternating with code."""

from __future__ import annotations

import math

from leti_core import alternate_batches


def batch_geometry(texts: int, batch_size: int, micro_batch_size: int, world_size: int) -> tuple[int, int, int]:
    """(global batch, micro batch, accumulation steps) with global = micro * world * accumulation."""
    global_batch = max(1, min(batch_size, texts))
    micro = max(1, min(micro_batch_size, math.ceil(global_batch / world_size)))
    accumulation = max(1, round(global_batch / (micro * world_size)))
    return micro * world_size * accumulation, micro, accumulation


def ordered_sequences(
    feedback: list[list[int]], pretraining: list[list[int]], global_batch: int, epochs: int, seed: int
) -> tuple[list[list[int]], list[str]]:
    """The flat sequence order the sequential sampler feeds: 1:1 alternating global batches, each
    sorted by length so its micro-batches carry little padding (the batch's gradient is the same)."""
    order = alternate_batches(feedback, pretraining, global_batch, epochs, seed)
    return [seq for _, batch in order for seq in sorted(batch, key=len)], [source for source, _ in order]
