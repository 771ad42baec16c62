"""Argument counts per sample, read back from a run's stdout, and micro Arg-I / Arg-C F1."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, TypeAdapter, ValidationError

from .evaluator import EAE_TAG, eae_match, eae_pairs

COUNTS_TAG = "[leti-eae-counts]"
_PAIRS = TypeAdapter(list[tuple[str, str]])


class ArgumentCounts(BaseModel):
    """What one sample predicted, what was gold, and how many were identified / classified."""

    predicted: int = 0
    gold: int = 0
    identified: int = 0
    classified: int = 0

    @property
    def perfect(self) -> bool:
        return self.classified == self.gold == self.predicted

    def shortfall(self) -> str:
        """The evaluator's message for counts that are not perfect."""
        if self.classified < self.gold:
            return f"only {self.classified} out of {self.gold} arguments are correctly identified"
        return f"{self.predicted - self.classified} predicted arguments match no argument of this event"


def read_predictions(stdout: str, nonce: str) -> list[tuple[str, str]] | None:
    """The predictions the evaluator printed with this run's nonce (the last such line), or None."""
    prefix = f"{EAE_TAG} {nonce} "
    for line in reversed(stdout.splitlines()):
        if line.startswith(prefix):
            try:
                return _PAIRS.validate_python(json.loads(line[len(prefix) :]))
            except (ValueError, ValidationError):
                return None
    return None


def count(predictions: Sequence[tuple[str, str]], gold: Sequence[tuple[str, str]]) -> ArgumentCounts:
    """Counts with the evaluator's own one-to-one matching."""
    predicted, gold_pairs = eae_pairs(predictions), eae_pairs(gold)
    identified, classified, _ = eae_match(predicted, gold_pairs)
    return ArgumentCounts(predicted=len(predicted), gold=len(gold_pairs), identified=identified, classified=classified)


def without_tags(stdout: str) -> str:
    """The program's stdout without any tagged line (the program cannot forge counts)."""
    lines = stdout.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith((EAE_TAG, COUNTS_TAG))]
    text = "".join(kept)
    return text if not text or text.endswith("\n") else text + "\n"


def read_counts(stdout: str) -> ArgumentCounts | None:
    """The counts line the environment appended to a result's stdout, or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(COUNTS_TAG + " "):
            try:
                return ArgumentCounts.model_validate_json(line[len(COUNTS_TAG) + 1 :])
            except ValidationError:
                return None
    return None


def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = 100.0 * correct / predicted if predicted else 0.0
    recall = 100.0 * correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def f1_metrics(samples: Iterable[ArgumentCounts]) -> dict[str, float]:
    """Micro precision / recall / F1 (in percent) of argument identification and classification."""
    total = ArgumentCounts()
    for item in samples:
        total.predicted += item.predicted
        total.gold += item.gold
        total.identified += item.identified
        total.classified += item.classified
    metrics: dict[str, float] = {}
    for name, correct in (("arg_i", total.identified), ("arg_c", total.classified)):
        p, r, f = _prf(correct, total.predicted, total.gold)
        metrics.update({f"{name}_precision": p, f"{name}_recall": r, f"{name}_f1": f})
    return metrics
