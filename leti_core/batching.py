"""n samples per prompt, yielded in prompt order, for samplers that finish sequences in any order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from .components import ProgressCallback

P = TypeVar("P")


def in_prompt_order(finished: Iterable[tuple[int, str]], prompts: int, n: int) -> Iterator[list[str]]:
    """Group completions of sequences (sequence ``i`` is prompt ``i // n``'s), arriving in any order,
    into each prompt's ``n`` completions, yielded in prompt order as soon as all of them are in."""
    done: dict[int, str] = {}
    next_prompt = 0
    for index, text in finished:
        done[index] = text
        while next_prompt < prompts and all(next_prompt * n + k in done for k in range(n)):
            yield [done.pop(next_prompt * n + k) for k in range(n)]
            next_prompt += 1


def in_batches(
    prompts: Sequence[P],
    n: int,
    batch_size: int,
    generate: Callable[[list[P]], list[str]],
    progress: ProgressCallback | None = None,
) -> Iterator[list[str]]:
    """Run ``generate`` on static batches of ``batch_size`` sequences (each prompt ``n`` times, in
    order) and yield each prompt's ``n`` completions as soon as all of them are done, in prompt order."""
    sequences = [index for index in range(len(prompts)) for _ in range(n)]

    def finished() -> Iterator[tuple[int, str]]:
        for start in range(0, len(sequences), batch_size):
            batch = sequences[start : start + batch_size]
            texts = generate([prompts[index] for index in batch])
            if progress is not None:
                progress(len(batch))
            yield from enumerate(texts, start)

    return in_prompt_order(finished(), len(prompts), n)
