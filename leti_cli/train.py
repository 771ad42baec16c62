"""`leti train`: one fine-tuning pass over a file of training texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from leti_core import DataError, LetiError, iter_json_lines, write_json
from leti_core.app import Resolver, build_config, get_engine

from .options import given_layer, model_command, shortcuts_for

KINDS = ("trainer",)


def read_texts(path: Path) -> list[str]:
    """Texts from JSONL lines holding ``text`` or the parts of a training example."""
    texts = []
    for number, row in iter_json_lines(path):
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            texts.append(row["text"])
        elif isinstance(row, dict) and {"prompt", "completion"} <= row.keys():
            texts.append(
                row.get("reward_token", "") + row.get("feedback_block", "") + row["prompt"] + row["completion"]
            )
        else:
            raise DataError(f"{path}:{number}: expected an object with 'text' or 'prompt' and 'completion'")
    return texts


def _json_options(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise LetiError(f"--trainer-options is not a JSON object ({error.msg})") from None
    if not isinstance(options, dict):
        raise LetiError("--trainer-options is not a JSON object")
    return options


@model_command("train", fields=("trainer", "max_tokens", "seed"), shortcuts=shortcuts_for(KINDS), kinds=KINDS)
@click.option("--model", required=True, help="Checkpoint folder to start from.")
@click.option(
    "--texts",
    "texts_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSONL of training texts (an iteration's training.jsonl works).",
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, file_okay=False), help="Checkpoint folder to write."
)
@click.option("--trainer-options", "options_json", default=None, help="JSON object of trainer options.")
@click.option("--metrics", type=click.Path(path_type=Path, dir_okay=False), help="Write training metrics here.")
def command(
    model: str, texts_file: Path, out: Path, options_json: str | None, metrics: Path | None, **given: Any
) -> None:
    """Fine-tune MODEL on TEXTS and write the checkpoint to OUT."""
    resolver = Resolver(get_engine().registry)
    layer = given_layer(given)
    layer["trainer_options"] = {**_json_options(options_json), **layer.get("trainer_options", {})}
    config = build_config(resolver, layer, kinds=KINDS)
    trainer = resolver.create("trainer", config)
    result = trainer.train(model, read_texts(texts_file), out)
    if metrics is not None:
        write_json(metrics, result)
    click.echo(json.dumps(result))
