"""`leti run`: the LeTI loop, and `leti finetune`: the gold-solution baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leti_core.app import KINDS, get_engine, prepare_run

from .options import given_layer, model_command, shortcuts_for
from .progress import progress_bar

#: The RunConfig fields `leti run` and `leti finetune` take as flags.
RUN_FIELDS = (
    "task",
    "env",
    "feedback",
    "sampler",
    "trainer",
    "model",
    "prompt_format",
    "iterations",
    "problems",
    "samples",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "eval_problems",
    "eval_samples",
    "eval_temperature",
    "eval_condition",
    "eval_stop",
    "eval_base",
    "save_every",
    "start_from",
)
#: What makes `leti finetune` the paper's fine-tuned baseline (30 epochs, lr 1e-4, gold solutions).
FINETUNE = {"training_data": "gold", "epochs": 30, "learning_rate": 1e-4}


def _progress(total: int, description: str):
    return progress_bar(total or None, description)


def start(
    out: Path, resume: bool, config_file: Path | None, given: dict[str, Any], defaults: dict[str, Any] | None = None
) -> None:
    """Check everything, build the components, then run."""
    accept_changes = bool(given.pop("accept_changes", False))
    if accept_changes and not resume:
        raise click.UsageError("--accept-changes goes with --resume")
    run = prepare_run(
        get_engine(),
        out,
        given_layer(given),
        config_file=config_file,
        resume=resume,
        accept_changes=accept_changes,
        defaults=defaults,
        progress=_progress,
        log=lambda m: click.echo(m, err=True),
    )
    try:
        run.run()
    finally:
        run.components.close()
    click.echo(f"run folder: {out}")


def run_options(function: Any) -> Any:
    for decorator in reversed(
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(path_type=Path, dir_okay=False, exists=True),
                help="TOML, YAML or JSON file of these options (command-line options win).",
            ),
            click.option(
                "--resume",
                type=click.Path(path_type=Path, file_okay=False, exists=True),
                help="Continue the run in this folder without redoing finished stages.",
            ),
            click.option(
                "--accept-changes",
                is_flag=True,
                default=False,
                help="With --resume: go on although a default, a component chosen for this machine or a "
                "package's release changed since the run was made (provenance.json records both).",
            ),
        ]
    ):
        function = decorator(function)
    return function


@model_command("run", fields=RUN_FIELDS, shortcuts=shortcuts_for(KINDS), kinds=KINDS)
@run_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Run folder [runs/leti-run].")
def command(out: Path | None, resume: Path | None, config_file: Path | None, **given: Any) -> None:
    """Teach a model from textual feedback: sample, execute, feedback, fine-tune, evaluate."""
    if out is not None and resume is not None:
        raise click.UsageError("give --out for a new run or --resume for an old one, not both")
    start(resume or out or Path("runs") / "leti-run", resume is not None, config_file, given)


@model_command("finetune", fields=RUN_FIELDS, shortcuts=shortcuts_for(KINDS), kinds=KINDS)
@run_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Run folder [runs/finetune].")
def finetune_command(out: Path | None, resume: Path | None, config_file: Path | None, **given: Any) -> None:
    """The fine-tuned baseline: plain fine-tuning on the gold solutions (30 epochs, lr 1e-4)."""
    if out is not None and resume is not None:
        raise click.UsageError("give --out for a new run or --resume for an old one, not both")
    start(
        resume or out or Path("runs") / "finetune",
        resume is not None,
        config_file,
        {**given, "training_data": "gold"},
        FINETUNE,
    )
