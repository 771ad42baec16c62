"""`leti train`: one fine-tuning pass over a file of training texts (what launchers run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from leti_core import DataError, LetiError, get_registry, iter_json_lines, write_json


def read_texts(path: Path) -> list[str]:
    """Texts from JSONL lines holding ``text`` or the parts of a training example."""
    texts = []
    for number, row in iter_json_lines(path):
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            texts.append(row["text"])
        elif isinstance(row, dict) and {"prompt", "completion"} <= row.keys():
            texts.append(row.get("reward_token", "") + row.get("feedback_block", "") + row["prompt"] + row["completion"])
        else:
            raise DataError(f"{path}:{number}: expected an object with 'text' or 'prompt' and 'completion'")
    return texts


@click.command("train")
@click.option("--model", required=True, help="Checkpoint folder to start from.")
@click.option("--texts", "texts_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="JSONL of training texts (an iteration's training.jsonl works).")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False), help="Checkpoint folder to write.")
@click.option("--trainer", "trainer_name", default="hf", show_default=True)
@click.option("--trainer-options", default="{}", help="JSON object of trainer options.")
@click.option("--metrics", type=click.Path(path_type=Path, dir_okay=False), help="Write training metrics here.")
def command(model: str, texts_file: Path, out: Path, trainer_name: str, trainer_options: str, metrics: Path | None) -> None:
    """Fine-tune MODEL on TEXTS; run it under `accelerate launch -m leti_cli train ...` for many GPUs."""
    try:
        options = json.loads(trainer_options)
    except json.JSONDecodeError as error:
        raise LetiError(f"--trainer-options is not a JSON object ({error.msg})") from None
    if not isinstance(options, dict):
        raise LetiError("--trainer-options is not a JSON object")
    trainer = get_registry().trainer(trainer_name, **options)
    result = trainer.train(model, read_texts(texts_file), out)
    if metrics is not None:
        write_json(metrics, result)
    click.echo(json.dumps(result))
