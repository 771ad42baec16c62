"""`leti evaluate`: score a file of completions, human-eval style, with LeTI feedback."""

from __future__ import annotations

import json
from pathlib import Path

import click

from leti_core import DataError, LetiError, Sample, Scorer, get_registry, read_models, score_pass_at_k, write_jsonl

from .options import build_scoring, environment_options, execution_options, parse_ks, task_options
from .progress import progress_bar


def default_out(samples: Path) -> Path:
    return samples.with_name(f"{samples.stem}_results.jsonl")


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
    out = out or default_out(samples)
    if out.resolve() == samples.resolve():
        raise LetiError(f"--out {out} would overwrite the samples file")
    task, environment, formatter = build_scoring(
        get_registry(), task_name, env_name, feedback_name,
        task_options(data), environment_options(timeout, sandbox, workers),
    )
    problems = {problem.task_id: problem for problem in task.load(split)}
    rows = read_models(samples, Sample)
    for number, sample in rows:
        if sample.key not in problems:
            raise DataError(f"{samples}:{number}: task_id {sample.task_id!r} is not in {task_name} split {split!r}")
    batch = [sample for _, sample in rows]
    with environment, progress_bar(len(batch), "executing") as advance:
        scored = Scorer(environment, formatter).score(problems, batch, progress=advance)
        metrics = environment.metrics(scored, problems)
    write_jsonl(out, (item.to_results_line() for item in scored))
    summary = score_pass_at_k(scored, ks)
    if as_json:
        click.echo(json.dumps({**summary.pass_at, "problems": summary.problems,
                               "samples": summary.samples, "metrics": metrics, "results": str(out)}))
        return
    scores = ", ".join(f"{name} = {value:.4f}" for name, value in summary.pass_at.items())
    click.echo(f"{summary.problems} problems, {summary.samples} samples: {scores or 'no pass@k'}")
    if metrics:
        click.echo(", ".join(f"{name} = {value:.4f}" for name, value in metrics.items()))
    click.echo(f"results: {out}", err=True)
