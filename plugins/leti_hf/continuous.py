"""Continuous batching with transformers models: when a sequence ends, its slot takes the next prompt.

``model.generate`` decodes a batch until its longest sequence ends, so rows that ended early keep
being computed, and its cache copies itself at every token. Here every decoding step computes live
sequences only: a finished row is refilled at once with the next prompt (prefilled on its own and
written into the slot), or dropped when no prompt is left.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from .slot_cache import SlotCache

#: Fully masked columns on the left of every row that are dropped at once.
TRIM_COLUMNS = 32
#: Tokens decoded again for the stop-word check (stop words shorter than this many tokens).
STOP_TAIL_TOKENS = 12

Chooser = Callable[[torch.Tensor], torch.Tensor]
"""Next tokens from float32 logits of shape (rows, vocabulary)."""


def supports_continuous(model: Any) -> bool:
    """Whether ``model`` is a decoder whose every layer keeps a plain, full-attention key/value cache
    (what transformers' ``DynamicCache`` builds for it is made of plain ``DynamicLayer``s only)."""
    config = model.config
    if getattr(config, "is_encoder_decoder", False):
        return False
    try:
        layers = DynamicCache(config=config).layers
    except Exception:  # noqa: BLE001 - an unusual config: leave it to generate()
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def chooser(temperature: float, top_p: float) -> Chooser:
    """Greedy at temperature 0, else sampling from the temperature-scaled nucleus."""
    if temperature <= 0:
        return lambda logits: logits.argmax(-1)
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopPLogitsWarper,
    )

    temperature_warper = TemperatureLogitsWarper(temperature)
    nucleus = TopPLogitsWarper(top_p) if top_p < 1 else None

    def choose(logits: torch.Tensor) -> torch.Tensor:
        scores = temperature_warper(None, logits)
        if nucleus is not None:
            scores = nucleus(None, scores)
        return draw(torch.softmax(scores, -1, dtype=torch.float64))

    return choose


def draw(probabilities: torch.Tensor) -> torch.Tensor:
    """One index per row, drawn from the row's probabilities by inverting its cumulative sum: one
    uniform number per row (``torch.multinomial`` takes about ten times longer on a CPU)."""
    cumulative = probabilities.cumsum(-1)
    uniform = torch.rand(len(cumulative), 1, dtype=cumulative.dtype, device=cumulative.device) * cumulative[:, -1:]
    return torch.searchsorted(cumulative, uniform, right=True).squeeze(1).clamp(max=cumulative.shape[-1] - 1)


@dataclass
class _Sequence:
    index: int
    budget: int
    tokens: list[int] = field(default_factory=list)


class ContinuousDecoder:
    """Decodes prompts with ``slots`` sequences at once; ``decode`` yields each as it ends."""

    def __init__(
        self, model: Any, tokenizer: Any, slots: int, max_tokens: int, choose: Chooser, stop: Sequence[str] = ()
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.slots, self.max_tokens, self.choose, self.stop = slots, max_tokens, choose, tuple(stop)
        self.eos = tokenizer.eos_token_id
        #: Newer transformers name the cache argument ``cache``; older ones ``past_key_values``.
        self._cache_argument = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        #: Prompt positions that were padding at prefill.
        self.padding_tokens = 0

    def decode(self, prompts: Sequence[str]) -> Iterator[tuple[int, list[int]]]:
        """(index in ``prompts``, generated token ids without EOS) for each prompt, in the order they end."""
        lengths = [len(ids) for ids in self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]
        waiting: deque[tuple[int, str]] = deque()
        for index, (prompt, length) in enumerate(zip(prompts, lengths, strict=True)):
            if length < self.max_tokens:
                waiting.append((index, prompt))
            else:  # the prompt fills the budget: nothing to generate
                yield index, []
        rows: list[_Sequence | None] = []
        cache: SlotCache | None = None
        mask = positions = last_tokens = torch.empty(0)
        while waiting or rows:
            free = [slot for slot, row in enumerate(rows) if row is None]
            assert cache is not None or not rows  # a row is admitted with the cache that holds it
            if waiting and (free or not rows):
                admitted = [waiting.popleft() for _ in range(min(len(waiting), len(free) if rows else self.slots))]
                prefilled, new_mask, new_positions, first_logits = self._prefill([text for _, text in admitted])
                if cache is not None and rows:
                    targets = free[: len(admitted)]
                    mask = self._put(cache, mask, positions, targets, prefilled, new_mask, new_positions)
                else:
                    targets = list(range(len(admitted)))
                    rows = [None] * len(admitted)
                    # no window is ever wider than the budget and the columns not yet trimmed
                    cache = SlotCache(prefilled, self.max_tokens + TRIM_COLUMNS)
                    mask, positions = new_mask, new_positions
                    last_tokens = torch.zeros_like(positions)
                for slot, (index, _) in zip(targets, admitted, strict=True):
                    rows[slot] = _Sequence(index, self.max_tokens - lengths[index])
                chosen = self.choose(first_logits)
                last_tokens[targets] = chosen
                yield from self._record(rows, targets, chosen.tolist())
            else:
                live = [slot for slot, row in enumerate(rows) if row is not None]
                if not live or cache is None:
                    return
                if len(live) < len(rows):  # nothing left to admit: drop the finished rows
                    keep = torch.tensor(live, dtype=torch.long, device=mask.device)
                    cache.batch_select_indices(keep)
                    mask, positions, last_tokens = mask[keep], positions[keep], last_tokens[keep]
                    rows = [rows[slot] for slot in live]
                mask = torch.cat([mask, mask.new_ones(len(rows), 1)], 1)
                positions = positions + 1
                logits = (
                    self.model(
                        input_ids=last_tokens[:, None],
                        attention_mask=mask,
                        position_ids=positions[:, None],
                        use_cache=True,
                        **{self._cache_argument: cache},
                    )
                    .logits[:, -1]
                    .float()
                )
                last_tokens = self.choose(logits)
                yield from self._record(rows, range(len(rows)), last_tokens.tolist())
            assert cache is not None
            mask = self._trim(mask, cache)

    def _prefill(self, texts: list[str]) -> tuple[DynamicCache, torch.Tensor, torch.Tensor, torch.Tensor]:
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        ids, mask = encoded["input_ids"].to(self.model.device), encoded["attention_mask"].to(self.model.device)
        self.padding_tokens += int((mask == 0).sum())
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = (
            self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                logits_to_keep=1,
                **{self._cache_argument: cache},
            )
            .logits[:, -1]
            .float()
        )
        return cache, mask, positions[:, -1], logits

    @staticmethod
    def _put(
        cache: SlotCache,
        mask: torch.Tensor,
        positions: torch.Tensor,
        slots: list[int],
        prefilled: DynamicCache,
        new_mask: torch.Tensor,
        new_positions: torch.Tensor,
    ) -> torch.Tensor:
        """Write the prefilled sequences into ``slots`` (``positions`` in place); the new mask."""
        width, new_width = mask.shape[1], new_mask.shape[1]
        if new_width > width:
            cache.pad_left(new_width - width)
            mask = torch.cat([mask.new_zeros(len(mask), new_width - width), mask], 1)
            width = new_width
        rows = torch.tensor(slots, dtype=torch.long, device=mask.device)
        cache.put_rows(rows, prefilled)
        mask[rows] = torch.cat([new_mask.new_zeros(len(new_mask), width - new_width), new_mask], 1)
        positions[rows] = new_positions
        return mask

    def _record(
        self, rows: list[_Sequence | None], slots: Sequence[int] | range, tokens: list[int]
    ) -> Iterator[tuple[int, list[int]]]:
        """Append each slot's new token; yield and free the sequences that ended."""
        for slot, token in zip(slots, tokens, strict=True):
            row = rows[slot]
            if row is None:
                continue
            ended = token == self.eos
            if not ended:
                row.tokens.append(token)
                ended = len(row.tokens) >= row.budget or self._stopped(row.tokens)
            if ended:
                rows[slot] = None
                yield row.index, row.tokens

    def _stopped(self, tokens: list[int]) -> bool:
        if not self.stop:
            return False
        tail = self.tokenizer.decode(tokens[-STOP_TAIL_TOKENS:], skip_special_tokens=False)
        return any(word in tail for word in self.stop)

    @staticmethod
    def _trim(mask: torch.Tensor, cache: SlotCache) -> torch.Tensor:
        """Drop the left columns no row attends to any more; the mask that is left."""
        used = mask.any(0).nonzero()
        unused = int(used[0]) if len(used) else mask.shape[1]
        if unused >= TRIM_COLUMNS:
            cache.trim_left(unused)
            mask = mask[:, unused:]
        return mask


def ended_at_stop(tokenizer: Any, tokens: list[int], stop: Sequence[str]) -> list[int]:
    """``tokens`` up to the token that completes the first stop word (all of them when none occurs): where
    ``ContinuousDecoder`` would have ended the sequence."""
    if not stop:
        return tokens
    for end in range(1, len(tokens) + 1):
        tail = tokenizer.decode(tokens[max(0, end - STOP_TAIL_TOKENS) : end], skip_special_tokens=False)
        if any(word in tail for word in stop):
            return tokens[:end]
    return tokens


#: Tokens per page of transformers' paged cache (``decode_with_library``).
LIBRARY_PAGE = 64
#: Tokens (prompt chunks and decoded rows together) per forward pass of transformers' continuous batching.
LIBRARY_BATCH_TOKENS = 1024


def decode_with_library(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    slots: int,
    max_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    stop: Sequence[str] = (),
) -> Iterator[tuple[int, list[int]]]:
    """As ``ContinuousDecoder.decode``, with transformers' own continuous batching (``generate_batch``'s manager,
    a paged cache). Each prompt is a request of its own with the budget its length leaves; every request is queued
    before the generation thread starts, so the batches it forms, and with ``seed`` its draws, are the same from one
    run to the next. The library cannot stop at strings: a sequence decodes to EOS or its budget and is cut after
    the token that completes its first stop word."""
    from transformers import ContinuousBatchingConfig, GenerationConfig

    ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    todo = []
    for index, prompt_ids in enumerate(ids):
        if len(prompt_ids) < max_tokens:
            todo.append(index)
        else:  # the prompt fills the budget: nothing to generate
            yield index, []
    if not todo:
        return
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {"do_sample": False}
    )
    generation = GenerationConfig(
        **sampling, top_k=0, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    pages = -(-max_tokens // LIBRARY_PAGE)
    config = ContinuousBatchingConfig(
        page_size=LIBRARY_PAGE,
        num_blocks=min(slots, len(todo)) * pages,  # every live sequence can reach the budget: none is ever evicted
        max_batch_tokens=LIBRARY_BATCH_TOKENS,
        max_requests_per_batch=slots,
        safety_margin=0.0,
        auto_switch_to_flash=False,
        seed=seed,
    )
    manager = model.init_continuous_batching(generation_config=generation, continuous_batching_config=config)
    try:
        for index in todo:
            manager.add_request(ids[index], request_id=str(index), max_new_tokens=max_tokens - len(ids[index]))
        with torch.inference_mode():  # the generation thread takes the caller's mode
            manager.start()
        for _ in todo:
            result = None
            while result is None:
                result = manager.get_result(timeout=1)
                if result is None and not manager.is_running():
                    raise RuntimeError("transformers' continuous batching stopped before every sequence ended")
            if result.error is not None:
                raise RuntimeError(f"transformers' continuous batching: {result.error}")
            tokens = list(result.generated_tokens)
            if tokens and tokens[-1] == tokenizer.eos_token_id:
                tokens.pop()
            yield int(result.request_id), ended_at_stop(tokenizer, tokens, stop)
    finally:
        manager.stop(block=True, hard_stop=True)
        manager.destroy()
