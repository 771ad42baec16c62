"""The configuration of a LeTI run: which components, the loop's own numbers, and each
component's options as the user set them.

A component's options (their defaults, bounds and descriptions) live only in its ``Options``
model; the config holds what the user chose, by kind (``trainer_options = {"epochs": 1}``).
``SHORTCUTS`` names the recipe numbers that have a top-level key and a flag of their own
(``epochs = 1``, ``--epochs 1``): each is routed to the option of the chosen component.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import LetiError
from .prompts import PromptFormat

Condition = Literal["good", "bad", "none"]

#: Component kind -> the RunConfig field with the options the user set for it.
OPTION_FIELDS: dict[str, str] = {
    "task": "task_options",
    "environment": "env_options",
    "sandbox": "sandbox_options",
    "feedback": "feedback_options",
    "sampler": "sampler_options",
    "trainer": "trainer_options",
}

Target = tuple[str, str]
#: Top-level keys (and flags) for component options: key -> (kind, option) of the components
#: that take it. A key with several targets sets each chosen component that has that option.
SHORTCUTS: dict[str, tuple[Target, ...]] = {
    "data": (("task", "data"),),
    "timeout": (("environment", "timeout"),),
    "sandbox": (("environment", "sandbox"),),
    "workers": (("sandbox", "workers"),),
    "top_p": (("sampler", "top_p"),),
    "max_tokens": (("sampler", "max_tokens"), ("trainer", "max_length")),
    "sample_batch_size": (("sampler", "batch_size"),),
    "precision": (("sampler", "precision"), ("trainer", "precision")),
    "seed": (("sampler", "seed"), ("trainer", "seed")),
    "epochs": (("trainer", "epochs"),),
    "learning_rate": (("trainer", "learning_rate"),),
    "weight_decay": (("trainer", "weight_decay"),),
    "batch_size": (("trainer", "batch_size"),),
    "micro_batch_size": (("trainer", "micro_batch_size"),),
    "pretrain_mix": (("trainer", "pretrain_mix"),),
    "pretrain_corpus": (("trainer", "pretrain_corpus"),),
    "lora": (("trainer", "lora"),),
    "launcher": (("trainer", "launcher"),),
}

#: What a resume may change: (field, option) pairs that do not alter work already done.
RESUMABLE = {("iterations", None), ("eval_base", None), ("trainer_options", "launcher")}


class RunConfig(BaseModel):
    """A run: its components by name, the loop's numbers, and the options set for each component."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(default="mbpp", description="Task.")
    env: str | None = Field(default=None, description="Environment [the task's].")
    feedback: str = Field(default="traceback", description="Feedback formatter (traceback, binary, ...)")
    sampler: str | None = Field(
        default=None, description="Sampler [the best installed for this machine: vllm with a GPU, else hf].")
    trainer: str = Field(default="hf", description="Trainer.")
    model: str | None = Field(default=None, description="Hub id, checkpoint folder or .gguf file [embedded SmolLM2-135M].")
    training_data: Literal["feedback", "gold"] = Field(
        default="feedback", description="feedback: LeTI; gold: the fine-tuned baseline on reference solutions.")
    prompt_format: PromptFormat = Field(
        default="auto", description="raw: the task's prompt as it is (the paper's, for base models); chat: the "
        "problem asked with the model's chat template, answered in a code block (instruct models); auto: chat "
        "where the model has a chat template.")
    iterations: int = Field(default=1, ge=1, description="LeTI iterations.")
    problems: int | None = Field(default=None, ge=1, description="Training problems [all].")
    samples: int = Field(default=128, ge=1, description="Samples per training problem.")
    temperature: float = Field(default=1.0, ge=0, description="Temperature of the training samples.")
    eval_problems: int | None = Field(
        default=10, ge=1, description="Held-out problems evaluated each iteration (the paper: all 500).")
    eval_samples: int = Field(default=16, ge=1, description="Samples per held-out problem.")
    eval_temperature: float = Field(default=0.1, ge=0, description="Temperature of the held-out samples.")
    eval_condition: Condition = Field(default="good", description="Held-out prompt prefix: <|good|>, <|bad|> or none.")
    eval_stop: bool = Field(
        default=True, description="Stop held-out samples at the task's stop words and report only the "
        "post-processed pass@k (the paper's); --no-eval-stop samples full length and reports raw pass@k too.")
    save_every: int = Field(
        default=256, ge=1, description="Programs sampled and executed between saves of a sampling stage: a killed "
        "run resumes after the last save. Each save's chunk has its own random stream, so this number is part of "
        "what the samples are.")
    eval_base: bool = Field(
        default=False, description="Evaluate the starting model first, as iteration 0 (where the paper's curves "
        "start), without a reward token: it has not learned them yet.")
    max_sandbox_errors: float = Field(
        default=0.02, ge=0, le=1, description="Share of an iteration's programs the sandbox may fail to run before "
        "the iteration stops instead of training (such results are retried once, never trained on, not in pass@k).")
    task_options: dict[str, Any] = Field(default_factory=dict, description="options of the task")
    env_options: dict[str, Any] = Field(default_factory=dict, description="options of the environment")
    sandbox_options: dict[str, Any] = Field(default_factory=dict, description="options of the sandbox")
    feedback_options: dict[str, Any] = Field(default_factory=dict, description="options of the feedback formatter")
    sampler_options: dict[str, Any] = Field(default_factory=dict, description="options of the sampler")
    trainer_options: dict[str, Any] = Field(default_factory=dict, description="options of the trainer")

    def options(self, kind: str) -> dict[str, Any]:
        """The options set for the component of ``kind``."""
        return getattr(self, OPTION_FIELDS[kind])

    def user_values(self) -> dict[str, Any]:
        """Only what was set (what config.json keeps)."""
        return self.model_dump(exclude_unset=True)

    def differences(self, other: RunConfig) -> list[tuple[str, Any, Any]]:
        """(key, mine, theirs) for each value that differs, ignoring what a resume may change."""
        mine, theirs = self.model_dump(), other.model_dump()
        found = []
        for key in mine:
            if key in OPTION_FIELDS.values():
                for option in sorted(set(mine[key]) | set(theirs[key])):
                    a, b = mine[key].get(option), theirs[key].get(option)
                    if a != b and (key, option) not in RESUMABLE:
                        found.append((f"{key}.{option}", a, b))
            elif mine[key] != theirs[key] and (key, None) not in RESUMABLE:
                found.append((key, mine[key], theirs[key]))
        return found


def read_config_file(path: Path) -> dict[str, Any]:
    """A TOML, YAML or JSON table of RunConfig fields and shortcuts."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LetiError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as error:
        raise LetiError(f"{path}: cannot read config file ({error.strerror})") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise LetiError(f"{path}: config files must end in .toml, .yaml, .yml or .json")
    except LetiError:
        raise
    except Exception as error:
        raise LetiError(f"{path}: not valid {path.suffix[1:].upper()}: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict):
        raise LetiError(f"{path}: a config file holds a table of options")
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def merge_values(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; option tables are merged key by key; None means "not given"."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if key in OPTION_FIELDS.values() and isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def split_shortcuts(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(RunConfig fields, shortcut values) of a table of values."""
    fields = {key: value for key, value in values.items() if key not in SHORTCUTS}
    return fields, {key: value for key, value in values.items() if key in SHORTCUTS}


def validate_config(values: dict[str, Any], source: Path | None = None) -> RunConfig:
    """RunConfig from plain values; a one-line LetiError naming the file and the option otherwise."""
    try:
        return RunConfig.model_validate(values)
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(p) for p in detail["loc"])
        prefix = f"{source}: " if source else ""
        raise LetiError(f"{prefix}option {where}: {detail['msg']} (got {detail.get('input')!r})") from None
