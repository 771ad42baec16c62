"""The `eae` environment: runs completed event instantiations with the solution evaluator."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from leti_core import (
    ErrorInfo,
    ExecutionResult,
    Problem,
    ProgressCallback,
    SandboxedEnvironment,
    SandboxOptions,
    ScoredSample,
)

from .counting import (
    ArgumentCounts,
    count,
    f1_metrics,
    read_counts,
    read_predictions,
    without_tags,
)
from .program import EventMetadata, build_program


def finish(result: ExecutionResult, meta: EventMetadata, nonce: str, user_lines: int) -> ExecutionResult:
    """Attach the counts (``data``), keep only the model's own frames, and re-check a pass."""
    predictions = read_predictions(result.stdout, nonce) or []
    counts = count(predictions, [(argument.role, argument.text) for argument in meta.gold])
    update: dict[str, Any] = {"stdout": without_tags(result.stdout), "data": counts.model_dump()}
    error = result.error
    if error is not None and not error.syntax_error:
        update["error"] = error.model_copy(update={"frames": [f for f in error.frames if f.lineno <= user_lines]})
    if result.passed and not counts.perfect:
        update.update(status="failed", error=ErrorInfo(type="AssertionError", message=counts.shortfall()))
    return result.model_copy(update=update)


def counts_of(result: ExecutionResult) -> ArgumentCounts:
    """The counts the environment attached to a result (in ``data``; a run from before kept them as a
    line it appended to stdout)."""
    if result.data:
        return ArgumentCounts.model_validate(result.data)
    return read_counts(result.stdout) or ArgumentCounts()


class EAEEnvironment(SandboxedEnvironment):
    """Checks an event's completed arguments against the gold ones; the evaluator's message is the feedback."""

    name = "eae"
    accepts = frozenset({"eae"})

    class Options(SandboxOptions):
        timeout: float = Field(default=30.0, gt=0, description="CPU seconds per program (the paper: 30)")

    def execute(
        self,
        problems: Sequence[Problem],
        completions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> list[ExecutionResult]:
        metas = [EventMetadata.of(problem) for problem in problems]
        nonces = [secrets.token_hex(8) for _ in problems]
        built = [build_program(p, c, n) for p, c, n in zip(problems, completions, nonces, strict=True)]
        results = self.run_sources([source for source, _ in built], progress)
        return [
            finish(result, meta, nonce, user_lines)
            for result, meta, nonce, (_, user_lines) in zip(results, metas, nonces, built, strict=True)
        ]

    def metrics(self, scored: Sequence[ScoredSample], problems: Mapping[str, Problem]) -> dict[str, float]:
        """Micro Arg-I and Arg-C precision, recall and F1 in percent; a failed run predicts nothing."""
        samples = []
        for item in scored:
            problem = problems.get(item.sample.key)
            if problem is None:
                continue
            gold = len(EventMetadata.of(problem).gold)
            seen = counts_of(item.result)
            samples.append(
                ArgumentCounts(
                    predicted=seen.predicted,
                    gold=gold,
                    identified=min(seen.identified, seen.predicted, gold),
                    classified=min(seen.classified, seen.predicted, gold),
                )
            )
        return f1_metrics(samples)
