"""Scoring a samples file: what `leti evaluate` does, shared with `leti eval`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from leti_core import (
    DataError,
    Environment,
    EvalSummary,
    FeedbackFormatter,
    Interval,
    LetiError,
    PassAtK,
    Problem,
    Sample,
    read_models,
    write_jsonl,
)
from leti_core.app import RepairReport, Scorer, judged_in_process, pass_at_k, sandbox_errors
from leti_core.app.statistics import intervals
from leti_core.passk import DEFAULT_KS

from .progress import progress_bar


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
        return FileScore(
            pass_at_k(scored, self.ks),
            metrics,
            out,
            len(sandbox_errors(scored)),
            judged_in_process(scored),
            intervals(scored),
        )


@dataclass(frozen=True)
class FileScore:
    """pass@k, the environment's own metrics (e.g. argument F1) and where the results went."""

    pass_at: PassAtK
    metrics: dict[str, float]
    results: Path
    sandbox_errors: int = 0
    judged_in_process: list[str] = field(default_factory=list)
    intervals: dict[str, Interval] = field(default_factory=dict)


def summary_dict(score: FileScore) -> dict[str, Any]:
    """The machine-readable summary `leti evaluate --json` prints."""
    summary = score.pass_at
    return {
        **summary.pass_at,
        "problems": summary.problems,
        "samples": summary.samples,
        "intervals": {name: interval.model_dump() for name, interval in score.intervals.items()},
        "sandbox_errors": score.sandbox_errors,
        "judged_in_process": score.judged_in_process,
        "metrics": score.metrics,
        "results": str(score.results),
    }


def summary_line(score: FileScore) -> str:
    """pass@k on one line, then the environment's metrics, the interval and warnings when there are any."""
    return "\n".join(
        [
            _pass_line(score.pass_at, score.sandbox_errors),
            *_details(score.metrics, score.intervals, score.judged_in_process),
        ]
    )


def scores_lines(summary: EvalSummary) -> str:
    """An evaluation's pass@k, raw and post-processed, then its metrics, intervals and warnings."""
    lines = [
        f"{name}: {_pass_line(scores, summary.sandbox_errors)}"
        for name, scores in (("raw", summary.raw), ("postprocessed", summary.postprocessed))
        if scores is not None
    ]
    return "\n".join([*lines, *_details(summary.metrics, summary.intervals, summary.judged_in_process)])


def repair_lines(report: RepairReport) -> str:
    """Each round's rates for both kinds of feedback, and textual against binary in words."""
    lines = []
    for item in report.rounds:
        rates = "; ".join(f"{name} {interval.text(digits=3)}" for name, interval in item.intervals.items())
        empty = f", {item.empty} answered nothing" if item.empty else ""
        lines.append(f"repair round {item.round}, told {item.told} ({item.repaired} sent back{empty}): {rates}")
    for number, comparisons in report.textual_against_binary.items():
        for name, comparison in comparisons.items():
            lines.append(f"round {number}: " + comparison.words(name, "binary", "textual"))
    return "\n".join(lines)


def _pass_line(scores: PassAtK, sandbox_errors: int) -> str:
    values = ", ".join(f"{name} = {value:.4f}" for name, value in scores.pass_at.items())
    line = f"{scores.problems} problems, {scores.samples} samples: {values or 'no pass@k'}"
    if sandbox_errors:
        line += f" ({sandbox_errors} samples the sandbox could not run are not counted)"
    return line


def _details(metrics: Mapping[str, float], intervals: Mapping[str, Interval], judged: Sequence[str]) -> list[str]:
    lines = []
    if metrics:
        lines.append(", ".join(f"{name} = {value:.4f}" for name, value in metrics.items()))
    for name, interval in intervals.items():
        lines.append(
            f"{name} {interval.text(digits=4)}, {interval.method} over {interval.problems} problems "
            f"({interval.samples} samples)"
        )
    if judged:
        shown = ", ".join(judged[:10]) + (", ..." if len(judged) > 10 else "")
        lines.append(
            f"{len(judged)} problems had verdicts judged in the program's own process "
            f"(a program can forge those passes): {shown}"
        )
    return lines


def echo_summary(score: FileScore, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary_dict(score)))
        return
    click.echo(summary_line(score))
    click.echo(f"results: {score.results}", err=True)
