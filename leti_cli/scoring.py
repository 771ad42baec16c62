"""Scoring a samples file: what `leti evaluate` does, shared with `leti eval`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from leti_core import (
    DataError,
    Environment,
    FeedbackFormatter,
    LetiError,
    PassAtK,
    Problem,
    Sample,
    read_models,
    write_jsonl,
)
from leti_core.app import Scorer, judged_in_process, pass_at_k, sandbox_errors
from leti_core.passk import DEFAULT_KS

from .progress import progress_bar
from .reporting.evidence import outcomes
from .reporting.statistics import Interval, rate


def default_out(samples: Path) -> Path:
    """``SAMPLES_results.jsonl`` beside SAMPLES."""
    return samples.with_name(f"{samples.stem}_results.jsonl")


@dataclass
class FileScorer:
    """A task split's problems with the environment and formatter that check them."""

    task_name: str
    split: str
    problems: Mapping[str, Problem]
    environment: Environment
    formatter: FeedbackFormatter
    ks: tuple[int, ...] = DEFAULT_KS

    def score_file(self, samples: Path, out: Path | None = None) -> FileScore:
        """Score SAMPLES (JSONL of {"task_id", "completion"}), write the results file, return the scores."""
        out = out or default_out(samples)
        if out.resolve() == samples.resolve():
            raise LetiError(f"--out {out} would overwrite the samples file")
        rows = read_models(samples, Sample)
        for number, sample in rows:
            if sample.key not in self.problems:
                raise DataError(
                    f"{samples}:{number}: task_id {sample.task_id!r} is not in {self.task_name} split {self.split!r}"
                )
        batch = [sample for _, sample in rows]
        with progress_bar(len(batch), "executing") as advance:
            scored = Scorer(self.environment, self.formatter).score(self.problems, batch, progress=advance)
        metrics = self.environment.metrics(scored, self.problems)
        write_jsonl(out, (item.to_results_line() for item in scored))
        passed = outcomes(scored, lambda item: item.result.passed)
        return FileScore(
            pass_at_k(scored, self.ks),
            metrics,
            out,
            len(sandbox_errors(scored)),
            judged_in_process(scored),
            rate(passed) if passed else None,
        )


@dataclass(frozen=True)
class FileScore:
    """pass@k, the environment's own metrics (e.g. argument F1) and where the results went."""

    pass_at: PassAtK
    metrics: dict[str, float]
    results: Path
    sandbox_errors: int = 0
    judged_in_process: list[str] = field(default_factory=list)
    pass1_interval: Interval | None = None


def summary_dict(score: FileScore) -> dict[str, Any]:
    """The machine-readable summary `leti evaluate --json` prints."""
    summary = score.pass_at
    return {
        **summary.pass_at,
        "problems": summary.problems,
        "samples": summary.samples,
        "pass@1 interval": score.pass1_interval.model_dump() if score.pass1_interval else None,
        "sandbox_errors": score.sandbox_errors,
        "judged_in_process": score.judged_in_process,
        "metrics": score.metrics,
        "results": str(score.results),
    }


def summary_line(score: FileScore) -> str:
    """pass@k on one line, and the environment's metrics on a second when it has any."""
    summary = score.pass_at
    scores = ", ".join(f"{name} = {value:.4f}" for name, value in summary.pass_at.items())
    line = f"{summary.problems} problems, {summary.samples} samples: {scores or 'no pass@k'}"
    if score.sandbox_errors:
        line += f" ({score.sandbox_errors} samples the sandbox could not run are not counted)"
    if score.metrics:
        line += "\n" + ", ".join(f"{name} = {value:.4f}" for name, value in score.metrics.items())
    if score.pass1_interval is not None:
        interval = score.pass1_interval
        line += (
            f"\npass@1 {interval.text(digits=4)}, {interval.method} over {interval.problems} problems "
            f"({interval.samples} samples)"
        )
    if score.judged_in_process:
        shown = ", ".join(score.judged_in_process[:10]) + (", ..." if len(score.judged_in_process) > 10 else "")
        line += (
            f"\n{len(score.judged_in_process)} problems had verdicts judged in the program's own process "
            f"(a program can forge those passes): {shown}"
        )
    return line


def echo_summary(score: FileScore, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary_dict(score)))
        return
    click.echo(summary_line(score))
    click.echo(f"results: {score.results}", err=True)
