"""`leti run`: the LeTI loop, and `leti finetune`: the gold-solution baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leti_core import Components, LetiRun, get_engine, make_config

from .progress import progress_bar


def _progress(total: int, description: str):
    return progress_bar(total or None, description)


def recipe_options(function: Any) -> Any:
    """Every recipe number as an option; unset options fall back to the config file, then the paper."""
    flag = dict(default=None)
    decorators = [
        click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     help="TOML, YAML or JSON file of these options (command-line options win)."),
        click.option("--task", help="Task [mbpp]."),
        click.option("--data", help="Task data file or folder."),
        click.option("--env", help="Environment [the task's]."),
        click.option("--model", help="Hub id, checkpoint folder or .gguf file [embedded SmolLM2-135M]."),
        click.option("--iterations", type=click.IntRange(min=1), help="LeTI iterations [1]."),
        click.option("--problems", type=click.IntRange(min=1), help="Training problems [all]."),
        click.option("--samples", type=click.IntRange(min=1), help="Samples per problem [128]."),
        click.option("--feedback", help="Feedback formatter: traceback, binary, ... [traceback]."),
        click.option("--temperature", type=click.FloatRange(min=0), help="Sampling temperature [1.0]."),
        click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), help="Top-p [1.0]."),
        click.option("--max-tokens", type=click.IntRange(min=16), help="Prompt + completion tokens [512]."),
        click.option("--sample-batch-size", type=click.IntRange(min=1), help="Sequences generated at once [32]."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per program [5]."),
        click.option("--sandbox", help="Sandbox backend [the environment's]."),
        click.option("--epochs", type=click.IntRange(min=1), help="Epochs per iteration [3]."),
        click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), help="Learning rate [1e-5]."),
        click.option("--weight-decay", type=click.FloatRange(min=0), help="AdamW weight decay [0.01]."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Sequences per optimizer step [128]."),
        click.option("--micro-batch-size", type=click.IntRange(min=1), help="Sequences per forward pass [4]."),
        click.option("--pretrain-mix/--no-pretrain-mix", **flag, help="Alternate 1:1 with code batches [on]."),
        click.option("--pretrain-corpus", help="'stdlib', a folder of .py files, or a hub dataset [stdlib]."),
        click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), help="[auto: bf16 where supported]."),
        click.option("--lora/--no-lora", **flag, help="Train LoRA adapters (needs peft) [off]."),
        click.option("--launcher", help="Run training under this command, e.g. 'accelerate launch --num_processes 8'."),
        click.option("--eval-problems", type=click.IntRange(min=1),
                     help="Held-out problems evaluated each iteration [10; the paper: all 500]."),
        click.option("--eval-samples", type=click.IntRange(min=1), help="Samples per held-out problem [16]."),
        click.option("--eval-temperature", type=click.FloatRange(min=0), help="Evaluation temperature [0.1]."),
        click.option("--eval-condition", type=click.Choice(["good", "bad", "none"]), help="Evaluation prompt prefix [good]."),
        click.option("--seed", type=int, help="Random seed [0]."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def start(out: Path | None, resume: Path | None, config_file: Path | None, given: dict[str, Any],
          defaults: dict[str, Any] | None = None) -> None:
    """Resolve the config, check the folder, build the components and run."""
    given = {key: value for key, value in given.items() if value is not None}
    engine = get_engine()
    if resume is not None:
        config = make_config(config_file, {**LetiRun.saved_config(resume).model_dump(), **given})
        run_dir = resume
    else:
        config = make_config(config_file, {**(defaults or {}), **given})
        run_dir = out or Path("runs") / "leti-run"
    LetiRun.check_folder(run_dir, config, resume is not None)
    components = Components.from_config(engine, config)
    try:
        run = LetiRun(run_dir, config, components, engine, progress=_progress, log=lambda m: click.echo(m, err=True))
        run.run()
    finally:
        components.close()
    click.echo(f"run folder: {run_dir}")


@click.command("run")
@recipe_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Run folder [runs/leti-run].")
@click.option("--resume", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Continue the run in this folder without redoing finished stages.")
def command(out: Path | None, resume: Path | None, config_file: Path | None, **given: Any) -> None:
    """Teach a model from textual feedback: sample, execute, feedback, fine-tune, evaluate."""
    if out is not None and resume is not None:
        raise click.UsageError("give --out for a new run or --resume for an old one, not both")
    start(out, resume, config_file, given)


@click.command("finetune")
@recipe_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Run folder [runs/finetune].")
@click.option("--resume", type=click.Path(path_type=Path, file_okay=False, exists=True), help="Continue this run.")
def finetune_command(out: Path | None, resume: Path | None, config_file: Path | None, **given: Any) -> None:
    """The fine-tuned baseline: plain fine-tuning on the gold solutions (30 epochs, lr 1e-4)."""
    defaults = {"training_data": "gold", "epochs": 30, "learning_rate": 1e-4}
    start(out or (None if resume else Path("runs") / "finetune"), resume, config_file, {**given, "training_data": "gold"}, defaults)
