"""Sample -> score: the path `leti run`, `leti eval` and `leti evaluate` share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

from ..components import ProgressCallback, Sampler
from ..models import Problem, Sample, ScoredSample
from ..sampling import SamplingParams
from ..training import condition_prompt
from .scoring import Scorer

ProgressFactory = Callable[[int, str], AbstractContextManager[ProgressCallback]]
"""``progress(total, description)`` -> a context manager yielding an ``advance(n)`` callback."""


def no_progress(total: int, description: str) -> AbstractContextManager[ProgressCallback]:
    """A progress factory that shows nothing."""
    return nullcontext(lambda n, total=None: None)


def postprocess(completion: str, stop_words: Sequence[str]) -> str:
    """Cut a completion at the first stop word (the paper's evaluation post-processing)."""
    cut = min((i for i in (completion.find(word) for word in stop_words) if i >= 0), default=len(completion))
    return completion[:cut]


def postprocess_samples(samples: Iterable[Sample], stop_words: Sequence[str]) -> list[Sample]:
    """The samples with each completion cut at the first stop word (no stop words: no samples)."""
    if not stop_words:
        return []
    return [Sample(task_id=sample.task_id, completion=postprocess(sample.completion, stop_words)) for sample in samples]


def sample_problems(
    sampler: Sampler,
    model: str,
    problems: Sequence[Problem],
    params: SamplingParams,
    condition: str | None,
    progress: ProgressCallback | None = None,
) -> Iterator[list[Sample]]:
    """``params.n`` samples per problem, in problem order, prompts prefixed with ``condition``'s reward
    token; each completion cut at the first of ``params.stop`` (none: raw and full length)."""
    sampler.check(params)
    prompts = [condition_prompt(problem.model_prompt, condition) for problem in problems]
    groups = sampler.sample(model, prompts, params, progress)
    if params.stop:
        groups = ([postprocess(completion, params.stop) for completion in group] for group in groups)
    for problem, group in zip(problems, groups, strict=True):
        yield [Sample(task_id=problem.task_id, completion=completion) for completion in group]


def sample_and_score(
    sampler: Sampler,
    scorer: Scorer,
    model: str,
    problems: Sequence[Problem],
    params: SamplingParams,
    condition: str | None,
    progress: ProgressCallback | None = None,
) -> list[ScoredSample]:
    """Sample and score; each problem's samples execute while the next ones are sampled."""
    by_id: Mapping[str, Problem] = {problem.task_id: problem for problem in problems}
    pending: list[Future[list[ScoredSample]]] = []
    with ThreadPoolExecutor(1) as executor:
        for samples in sample_problems(sampler, model, problems, params, condition, progress):
            pending.append(executor.submit(scorer.score, by_id, samples))
        return [item for future in pending for item in future.result()]
