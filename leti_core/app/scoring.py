"""Scoring samples: execute them in an environment, attach feedback, compute pass@k."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..components import Environment, FeedbackFormatter, ProgressCallback
from ..errors import DataError
from ..models import PassAtK, Problem, Sample, ScoredSample
from ..passk import DEFAULT_KS, summarize


@dataclass
class Scorer:
    """An environment and a feedback formatter used together."""

    environment: Environment
    formatter: FeedbackFormatter

    def score(
        self,
        problems: Mapping[str, Problem],
        samples: Sequence[Sample],
        progress: ProgressCallback | None = None,
    ) -> list[ScoredSample]:
        """Execute every sample against its problem; results keep the order of ``samples``."""
        missing = [sample.key for sample in samples if sample.key not in problems]
        if missing:
            raise DataError(f"task_id {missing[0]!r} is not a problem of this split")
        results = self.environment.execute(
            [problems[sample.key] for sample in samples],
            [sample.completion for sample in samples],
            progress=progress,
        )
        return [
            ScoredSample(sample=sample, result=result, feedback=self.formatter.format(result))
            for sample, result in zip(samples, results, strict=True)
        ]


def pass_at_k(scored: Iterable[ScoredSample], ks: Sequence[int] = DEFAULT_KS) -> PassAtK:
    """pass@k over the problems that have samples.

    A sample the sandbox could not run (status ``error``: the sandbox failed, not the program) says
    nothing about the model: it is left out, so its problem's n is smaller (and a problem with no
    other sample is left out of the mean).
    """
    counts: dict[str, list[int]] = {}
    for item in usable(scored):
        n_c = counts.setdefault(item.sample.key, [0, 0])
        n_c[0] += 1
        n_c[1] += item.result.passed
    return summarize(((n, c) for n, c in counts.values()), ks)


def exception_histogram(scored: Iterable[ScoredSample]) -> dict[str, int]:
    """How often each exception type (or Timeout) ended a failing sample (sandbox errors left out)."""
    counts = Counter(
        kind for item in usable(scored) if not item.result.passed and (kind := item.result.exception_type) is not None
    )
    return dict(counts.most_common())


def usable(scored: Iterable[ScoredSample]) -> list[ScoredSample]:
    """The samples whose verdict the program caused (not the sandbox's own failures)."""
    return [item for item in scored if item.result.status != "error"]


def judged_in_process(scored: Iterable[ScoredSample]) -> list[str]:
    """The problems with a verdict the program's own process or code had a say in (a program can
    forge such a pass: see ``ExecutionResult.judged``), in order of first appearance."""
    return list(dict.fromkeys(item.sample.key for item in scored if item.result.judged == "in process"))


def sandbox_errors(scored: Iterable[ScoredSample]) -> list[ScoredSample]:
    """The samples the sandbox could not run."""
    return [item for item in scored if item.result.status == "error"]
