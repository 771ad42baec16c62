"""Sampling stages: sample and score problems into a stage file that saves as it goes, and run again
what the sandbox failed to run. The loop's training and held-out stages and `leti eval` share them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..components import Sampler
from ..errors import LetiError
from ..jsonl import read_models, write_jsonl
from ..models import Problem, ScoredSample
from ..run_folder import RunFolder
from ..sampling import SamplingParams
from .pipeline import ProgressFactory, no_progress, sample_and_score
from .resumable import sample_in_chunks
from .scoring import Scorer, sandbox_errors

#: How a stage's programs are named in messages.
STAGE_WORDS = {"train": "training", "eval": "held-out"}
ScoredHook = Callable[[int, str, list[ScoredSample]], None]
"""``hook(iteration, stage, scored)``: told of every stage's scored samples (the observers' hook)."""


@dataclass
class Stages:
    """How a run samples: its sampler and scorer, how often a stage saves, and how many sandbox
    failures it tolerates."""

    sampler: Sampler
    scorer: Scorer
    save_every: int
    max_sandbox_errors: float
    progress: ProgressFactory = no_progress
    log: Callable[[str], None] = print
    scored_hook: ScoredHook | None = None

    def sample(
        self,
        stage_file: Path,
        model: str,
        problems: Sequence[Problem],
        params: SamplingParams,
        condition: str | None,
        stream: tuple[int, str],
        seconds: tuple[dict[str, float], str] | None = None,
    ) -> list[ScoredSample]:
        """``params.n`` scored samples of every problem, kept in ``stage_file``: read when it exists,
        else sampled chunk by chunk from random stream ``stream`` = (iteration, stage), so a killed
        stage resumes and the same stream always gives the same samples. Sandbox failures are run
        once more. ``seconds`` = (times, name): the sampling's seconds go to ``times[name]``."""
        iteration, stage = stream
        if stage_file.is_file():
            scored = [row for _, row in read_models(stage_file, ScoredSample)]
            return self.settle(stage_file, scored, {p.task_id: p for p in problems}, iteration, stage)
        started = time.monotonic()
        with self.progress(len(problems) * params.n, f"iteration {iteration}: {stage} sampling") as advance:

            def resumed(count: int) -> None:
                self.log(f"iteration {iteration}: {stage} sampling resumes after {count} saved samples")
                advance(count)

            def sample(part: Sequence[Problem], seed_stream: int) -> list[ScoredSample]:
                chunk = params.model_copy(update={"stream": seed_stream})
                return sample_and_score(self.sampler, self.scorer, model, part, chunk, condition, advance)

            in_progress = RunFolder.in_progress(stage_file)
            scored = sample_in_chunks(problems, params.n, self.save_every, in_progress, stream, sample, resumed)
        write_jsonl(stage_file, scored)
        in_progress.unlink(missing_ok=True)
        if seconds is not None:
            times, name = seconds
            times[name] = time.monotonic() - started
        if self.scored_hook is not None:
            self.scored_hook(iteration, stage, scored)
        return self.settle(stage_file, scored, {p.task_id: p for p in problems}, iteration, stage)

    def settle(
        self, path: Path, scored: list[ScoredSample], problems: Mapping[str, Problem], iteration: int, stage: str
    ) -> list[ScoredSample]:
        """Run once more what the sandbox failed to run (its failure, not the program's), keep the
        stage file up to date, and stop when too many still failed: a verdict the program did not
        cause is never trained on nor counted."""
        failed = [index for index, item in enumerate(scored) if item.result.status == "error"]
        if failed:
            again = self.scorer.score(problems, [scored[index].sample for index in failed])
            scored = list(scored)
            for index, item in zip(failed, again, strict=True):
                scored[index] = item
            write_jsonl(path, scored)
        errors = sandbox_errors(scored)
        stage = STAGE_WORDS.get(stage, stage)
        if len(errors) > self.max_sandbox_errors * len(scored):
            raise LetiError(
                f"iteration {iteration}: the sandbox could not run {len(errors)} of {len(scored)} {stage} programs "
                f"({errors[0].result.reason}); nothing was trained on or counted. Check the sandbox "
                "(leti sandbox check), then --resume the run (or run leti eval again): those programs run again"
            )
        if errors:
            self.log(
                f"iteration {iteration}: {len(errors)} {stage} programs could not be run by the sandbox; "
                "they are left out of training and pass@k"
            )
        return scored
