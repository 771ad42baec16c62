"""LeTI's training texts: reward token, feedback, problem, program; and the 1:1 batch order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from .models import Problem, ScoredSample, TrainingExample

GOOD = "<|good|>"
BAD = "<|bad|>"
FEEDBACK_OPEN = "<|lang_feedback|>"
FEEDBACK_CLOSE = "<|/lang_feedback|>"
SPECIAL_TOKENS = (GOOD, BAD, FEEDBACK_OPEN, FEEDBACK_CLOSE)
REWARD_TOKENS = {"good": GOOD, "bad": BAD}

T = TypeVar("T")


def feedback_block(text: str | None) -> str:
    """``<|lang_feedback|> FEEDBACK <|/lang_feedback|>``, or nothing when there is no text."""
    return f"{FEEDBACK_OPEN} {text} {FEEDBACK_CLOSE}" if text else ""


def training_example(problem: Problem, scored: ScoredSample) -> TrainingExample:
    """The feedback-conditioned training text for one executed sample."""
    return TrainingExample(
        task_id=problem.task_id,
        reward_token=REWARD_TOKENS[scored.feedback.reward],
        feedback_block=feedback_block(scored.feedback.text),
        prompt=problem.model_prompt,
        completion=scored.sample.completion,
    )


def gold_example(problem: Problem, solution: str) -> TrainingExample:
    """The fine-tuned baseline's text: the prompt and the task's gold completion, no reward or feedback."""
    return TrainingExample(task_id=problem.task_id, reward_token="", prompt=problem.model_prompt, completion=solution)


def condition_prompt(prompt: str, condition: str | None) -> str:
    """Prefix a sampling prompt with ``<|good|>`` or ``<|bad|>`` (None: unchanged)."""
    return REWARD_TOKENS[condition] + prompt if condition else prompt


def alternate_batches(
    feedback: Sequence[T], pretraining: Sequence[T], batch_size: int, epochs: int, seed: int
) -> list[tuple[str, list[T]]]:
    """The training order: each epoch's shuffled feedback batches, each followed by one
    batch of pretraining data (1:1), or feedback batches alone when ``pretraining`` is empty.

    The last feedback batch of an epoch is filled up with other examples of the same epoch so
    every batch has ``batch_size`` items. Pretraining items are used in order, wrapping around.
    """
    if not feedback:
        return []
    rng = random.Random(seed)
    size = min(batch_size, len(feedback))
    order: list[tuple[str, list[T]]] = []
    cursor = 0
    for _ in range(epochs):
        items = list(feedback)
        rng.shuffle(items)
        if len(items) % size:
            items += rng.sample(list(feedback), size - len(items) % size)
        for start in range(0, len(items), size):
            order.append(("feedback", items[start : start + size]))
            if pretraining:
                batch = [pretraining[(cursor + i) % len(pretraining)] for i in range(size)]
                cursor += size
                order.append(("pretraining", batch))
    return order
