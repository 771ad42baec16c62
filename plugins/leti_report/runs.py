"""Reading a run folder: config.json, iteration-K/summary.json, and samples.jsonl of unfinished iterations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from leti_core import IterationSummary, LetiError, RunConfig, ScoredSample, exception_histogram, read_models

POST = " (post-processed)"


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


class RunData(BaseModel):
    """A run folder, read."""

    name: str
    path: Path
    config: RunConfig
    iterations: list[IterationData]

    @property
    def finished(self) -> list[IterationData]:
        return [item for item in self.iterations if item.finished]

    def exception_types(self) -> list[str]:
        """Exception types by total count over the iterations, most frequent first."""
        totals: dict[str, int] = {}
        for item in self.iterations:
            for name, count in item.exception_histogram.items():
                totals[name] = totals.get(name, 0) + count
        return sorted(totals, key=lambda name: (-totals[name], name))


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        detail = error.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        return f"{where}: {detail['msg']}" if where else detail["msg"]
    return " ".join(str(error).split())[:200]


def _read_json(path: Path, model: type[BaseModel]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise LetiError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return model.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise LetiError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except ValidationError as error:
        raise LetiError(f"{path}: not a LeTI {model.__name__} ({_one_line(error)})") from None


def _from_summary(summary: IterationSummary) -> IterationData:
    extra = summary.extra_metrics
    return IterationData(
        iteration=summary.iteration,
        finished=True,
        samples=summary.samples,
        success_rate=summary.success_rate,
        exception_histogram=summary.exception_histogram,
        pass_at=dict(summary.evaluation.pass_at) if summary.evaluation else {},
        pass_at_postprocessed={key[: -len(POST)]: value for key, value in extra.items() if key.endswith(POST)},
        training_steps=summary.training_steps,
        training_tokens=summary.training_tokens,
    )


def _from_samples(iteration: int, path: Path) -> IterationData:
    scored = [row for _, row in read_models(path, ScoredSample)]
    passed = sum(item.result.passed for item in scored)
    return IterationData(iteration=iteration, finished=False, samples=len(scored),
                         success_rate=passed / max(1, len(scored)), exception_histogram=exception_histogram(scored))


def read_run(run_dir: Path, name: str | None = None) -> RunData:
    """Read a run folder; a missing or malformed file is a LetiError naming it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LetiError(f"{run_dir}: no such run folder")
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise LetiError(f"{config_file}: missing: {run_dir} is not a LeTI run folder")
    config = _read_json(config_file, RunConfig)
    folders = sorted((int(match.group(1)), path) for path in run_dir.iterdir()
                     if path.is_dir() and (match := re.fullmatch(r"iteration-(\d+)", path.name)))
    iterations = []
    cumulative = 0
    for number, folder in folders:
        summary_file, samples_file = folder / "summary.json", folder / "samples.jsonl"
        if summary_file.is_file():
            item = _from_summary(_read_json(summary_file, IterationSummary))
            if item.iteration != number:
                raise LetiError(f"{summary_file}: says iteration {item.iteration}, the folder is iteration {number}")
        elif samples_file.is_file():
            item = _from_samples(number, samples_file)
        else:
            continue
        cumulative += item.training_steps
        iterations.append(item.model_copy(update={"cumulative_steps": cumulative}))
    if not iterations:
        raise LetiError(f"{run_dir}: no iteration has samples or a summary yet (no iteration-K/summary.json)")
    return RunData(name=name or run_dir.resolve().name, path=run_dir, config=config, iterations=iterations)
