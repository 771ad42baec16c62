"""Reading run folders for reports: finished iterations' summaries, and the training samples of
an iteration still under way."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from leti_core import IterationFolder, IterationSummary, LetiError, RunFolder
from leti_core.app import RunConfig, exception_histogram, read_saved_config
from leti_core.app.statistics import UNEXECUTABLE


class IterationData(BaseModel):
    """What a report shows of one iteration."""

    iteration: int
    finished: bool = Field(description="summary.json exists (else: only its training samples so far)")
    samples: int
    success_rate: float
    exception_histogram: dict[str, int]
    pass_at: dict[str, float] = Field(default_factory=dict)
    pass_at_postprocessed: dict[str, float] = Field(default_factory=dict)
    training_steps: int = 0
    cumulative_steps: int = 0
    training_tokens: int = 0

    def share(self, exception: str) -> float:
        """The share of this iteration's training samples that ended with ``exception``."""
        return self.exception_histogram.get(exception, 0) / max(1, self.samples)

    @property
    def executable_share(self) -> float:
        """The share of training samples that got to their tests: not stopped by a SyntaxError,
        IndentationError or NameError (the paper's measure of programs that run)."""
        return 1.0 - sum(self.share(name) for name in UNEXECUTABLE)

    @property
    def steps_before(self) -> int:
        """Gradient steps the model had taken when it drew this iteration's training samples."""
        return self.cumulative_steps - self.training_steps


class RunData(BaseModel):
    """A run folder, read."""

    name: str
    path: Path
    config: RunConfig
    iterations: list[IterationData]

    @property
    def finished(self) -> list[IterationData]:
        return [item for item in self.iterations if item.finished]

    @property
    def sampled(self) -> list[IterationData]:
        """The iterations with training samples (not iteration 0, the starting model's evaluation)."""
        return [item for item in self.iterations if item.samples]

    def exception_types(self) -> list[str]:
        """Exception types by total count over the iterations, most frequent first."""
        totals: dict[str, int] = {}
        for item in self.iterations:
            for name, count in item.exception_histogram.items():
                totals[name] = totals.get(name, 0) + count
        return sorted(totals, key=lambda name: (-totals[name], name))


def _from_summary(summary: IterationSummary) -> IterationData:
    held_out = summary.held_out
    return IterationData(
        iteration=summary.iteration,
        finished=True,
        samples=summary.samples,
        success_rate=summary.success_rate,
        exception_histogram=summary.exception_histogram,
        pass_at=dict(held_out.raw.pass_at) if held_out and held_out.raw else {},
        pass_at_postprocessed=dict(held_out.postprocessed.pass_at) if held_out and held_out.postprocessed else {},
        training_steps=summary.training_steps,
        training_tokens=summary.training_tokens,
    )


def _from_samples(folder: IterationFolder) -> IterationData:
    scored = folder.scored_samples()
    passed = sum(item.result.passed for item in scored)
    return IterationData(
        iteration=folder.number,
        finished=False,
        samples=len(scored),
        success_rate=passed / max(1, len(scored)),
        exception_histogram=exception_histogram(scored),
    )


def read_run(run_dir: Path, name: str | None = None) -> RunData:
    """Read a run folder; a missing or malformed file is a LetiError naming it."""
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise LetiError(f"{run.path}: no such run folder")
    if not run.exists():
        raise LetiError(f"{run.config_file}: missing: {run.path} is not a LeTI run folder")
    config = read_saved_config(run)
    iterations = []
    cumulative = 0
    for folder in run.iterations():
        if folder.finished:
            item = _from_summary(folder.summary())
        elif folder.samples.is_file():
            item = _from_samples(folder)
        else:
            continue
        cumulative += item.training_steps
        iterations.append(item.model_copy(update={"cumulative_steps": cumulative}))
    if not iterations:
        raise LetiError(f"{run.path}: no iteration has samples or a summary yet")
    return RunData(name=name or run.name, path=run.path, config=config, iterations=iterations)
