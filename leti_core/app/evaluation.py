"""Held-out evaluation: sample a model on problems, score the samples, summarize them. `leti run`
does it at every iteration and `leti eval` once, through this code, so both give the same figures
for the same model, problems and parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..components import Task
from ..jsonl import read_models, write_jsonl
from ..models import EvalSummary, Problem, ScoredSample
from ..passk import DEFAULT_KS
from ..prompts import stop_words
from ..run_folder import EvalFiles
from ..sampling import SamplingParams
from .pipeline import postprocess_samples
from .run_config import RunConfig
from .scoring import exception_histogram, judged_in_process, pass_at_k, sandbox_errors
from .stages import Stages
from .statistics import intervals

Scores = Literal["postprocessed", "raw", "both"]
"""Which pass@k an evaluation reports: of completions stopped at the task's stop words (the
paper's), of the raw completions, or of both (the raw ones are then cut and scored again)."""


@dataclass(frozen=True)
class HeldOut:
    """What a held-out evaluation samples, and how it scores it."""

    task: str
    split: str
    problems: Sequence[Problem]
    prompt_format: str
    params: SamplingParams
    condition: str | None
    stop_words: tuple[str, ...]
    scores: Scores
    ks: tuple[int, ...] = DEFAULT_KS


def held_out(
    config: RunConfig,
    task: Task,
    split: str,
    problems: Sequence[Problem],
    prompt_format: str,
    iteration: int,
    scores: Scores | None = None,
    condition: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> HeldOut:
    """The run's evaluation of ``problems`` at ``iteration``: its sampling parameters, and the
    run's condition (none for the starting model, which has not learned the reward tokens)
    unless ``condition`` is given. Scores follow ``eval_stop`` unless ``scores`` is given."""
    if scores is None:
        scores = "postprocessed" if config.eval_stop and task.stop_words else "both" if task.stop_words else "raw"
    condition = condition or (config.eval_condition if iteration > 0 else "none")
    task_words = tuple(task.stop_words)
    stop = stop_words(prompt_format) + (task_words if scores == "postprocessed" else ())
    return HeldOut(
        task=config.task,
        split=split,
        problems=problems,
        prompt_format=prompt_format,
        params=config.eval_sampling(stop),
        condition=None if condition == "none" else condition,
        stop_words=task_words,
        scores=scores,
        ks=ks,
    )


def evaluate(
    stages: Stages,
    plan: HeldOut,
    model: str,
    files: EvalFiles,
    iteration: int,
    seconds: dict[str, float] | None = None,
) -> tuple[list[ScoredSample], EvalSummary]:
    """Sample ``model`` on the plan's problems into ``files`` (resuming what they hold), score, and
    summarize; returns the samples of the headline scores (post-processed when there are any)."""
    by_id = {problem.task_id: problem for problem in plan.problems}
    timing = (seconds, "evaluate") if seconds is not None else None
    scored = stages.sample(files.scored, model, plan.problems, plan.params, plan.condition, (iteration, "eval"), timing)
    every, headline = list(scored), scored
    raw = cut = None
    if plan.scores == "postprocessed":
        cut = pass_at_k(scored, plan.ks)
    else:
        raw = pass_at_k(scored, plan.ks)
        if plan.scores == "both":
            headline = _postprocessed(stages, files.postprocessed, scored, plan, by_id, iteration)
            cut = pass_at_k(headline, plan.ks)
            every += headline
    summary = EvalSummary(
        model=model,
        task=plan.task,
        split=plan.split,
        prompt_format=plan.prompt_format,
        condition=plan.condition,
        sampling=plan.params,
        stop_words=list(plan.stop_words),
        raw=raw,
        postprocessed=cut,
        metrics=stages.scorer.environment.metrics(headline, by_id),
        exception_histogram=exception_histogram(headline),
        intervals=intervals(headline),
        sandbox_errors=len(sandbox_errors(every)),
        judged_in_process=judged_in_process(every),
    )
    return headline, summary


def _postprocessed(
    stages: Stages,
    path: Path,
    scored: list[ScoredSample],
    plan: HeldOut,
    by_id: Mapping[str, Problem],
    iteration: int,
) -> list[ScoredSample]:
    """The samples cut at the task's stop words and scored (kept in ``path``)."""
    if path.is_file():
        cut = [row for _, row in read_models(path, ScoredSample)]
    else:
        cut = stages.scorer.score(by_id, postprocess_samples((item.sample for item in scored), plan.stop_words))
        write_jsonl(path, cut)
    return stages.settle(path, cut, by_id, iteration, "eval")
