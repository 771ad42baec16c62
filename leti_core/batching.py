"""Static batches of n samples per prompt, for samplers built on a batch-at-a-time engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from .components import ProgressCallback

P = TypeVar("P")


def in_batches(prompts: Sequence[P], n: int, batch_size: int, generate: Callable[[list[P]], list[str]],
               progress: ProgressCallback | None = None) -> Iterator[list[str]]:
    """Run ``generate`` on batches of ``batch_size`` sequences (each prompt ``n`` times, in order) and
    yield each prompt's ``n`` completions as soon as all of them are done, in prompt order."""
    sequences = [index for index in range(len(prompts)) for _ in range(n)]
    done: dict[int, list[str]] = {}
    next_prompt = 0
    for start in range(0, len(sequences), batch_size):
        batch = sequences[start : start + batch_size]
        for index, text in zip(batch, generate([prompts[index] for index in batch]), strict=True):
            done.setdefault(index, []).append(text)
        if progress is not None:
            progress(len(batch))
        while next_prompt in done and len(done[next_prompt]) == n:
            yield done.pop(next_prompt)
            next_prompt += 1
