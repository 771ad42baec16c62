"""The configuration of a LeTI run: every recipe number, with the paper's defaults."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import LetiError

Condition = Literal["good", "bad", "none"]

SAMPLER_FIELDS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens",
                  "sample_batch_size": "batch_size", "precision": "precision", "seed": "seed"}
TRAINER_FIELDS = {"epochs": "epochs", "learning_rate": "learning_rate", "weight_decay": "weight_decay",
                  "batch_size": "batch_size", "micro_batch_size": "micro_batch_size", "max_tokens": "max_length",
                  "pretrain_mix": "pretrain_mix", "pretrain_corpus": "pretrain_corpus", "precision": "precision",
                  "lora": "lora", "seed": "seed", "launcher": "launcher"}
ENVIRONMENT_FIELDS = {"timeout": "timeout", "sandbox": "sandbox"}
#: Fields that may change when a run is resumed (they do not change what was already done).
RESUMABLE_FIELDS = {"iterations", "launcher"}


class RunConfig(BaseModel):
    """A run, resolved: the CLI's options and config file both land here."""

    model_config = ConfigDict(extra="forbid")

    task: str = "mbpp"
    data: str | None = Field(default=None, description="task data path")
    env: str | None = Field(default=None, description="environment (default: the task's)")
    feedback: str = "traceback"
    sampler: str = "hf"
    trainer: str = "hf"
    model: str | None = Field(default=None, description="hub id, folder or .gguf (default: embedded)")
    training_data: Literal["feedback", "gold"] = Field(
        default="feedback", description="feedback: LeTI; gold: the fine-tuned baseline on reference solutions")
    iterations: int = Field(default=1, ge=1)
    problems: int | None = Field(default=None, ge=1, description="training problems (default all)")
    samples: int = Field(default=128, ge=1, description="samples per training problem")
    temperature: float = Field(default=1.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=512, ge=16, description="prompt + completion tokens")
    sample_batch_size: int = Field(default=32, ge=1)
    timeout: float | None = Field(default=None, gt=0, description="seconds per program (env default)")
    sandbox: str | None = None
    epochs: int = Field(default=3, ge=1)
    learning_rate: float = Field(default=1e-5, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    batch_size: int = Field(default=128, ge=1)
    micro_batch_size: int = Field(default=4, ge=1)
    pretrain_mix: bool = True
    pretrain_corpus: str = "stdlib"
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    lora: bool = False
    launcher: str | None = None
    eval_problems: int | None = Field(
        default=10, ge=1, description="held-out problems evaluated each iteration (None: the whole split)")
    eval_samples: int = Field(default=16, ge=1)
    eval_temperature: float = Field(default=0.1, ge=0)
    eval_condition: Condition = "good"
    seed: int = 0
    sampler_options: dict[str, Any] = Field(default_factory=dict, description="extra options for the sampler")
    trainer_options: dict[str, Any] = Field(default_factory=dict, description="extra options for the trainer")
    env_options: dict[str, Any] = Field(default_factory=dict, description="extra options for the environment")

    def differences(self, other: RunConfig) -> list[str]:
        """Fields that differ, ignoring those a resume may change."""
        mine, theirs = self.model_dump(), other.model_dump()
        return [key for key in mine if key not in RESUMABLE_FIELDS and mine[key] != theirs[key]]


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON config file of RunConfig fields."""
    try:
        text = path.read_text(encoding="utf-8")
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
    return {key.replace("-", "_"): value for key, value in data.items()}


def make_config(path: Path | None, options: dict[str, Any]) -> RunConfig:
    """Config file values, overridden by the options given on the command line."""
    values = read_config_file(path) if path else {}
    values.update(options)
    try:
        return RunConfig.model_validate(values)
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(p) for p in detail["loc"])
        source = f"{path}: " if path else ""
        raise LetiError(f"{source}option {where}: {detail['msg']} (got {detail.get('input')!r})") from None


def component_options(config: RunConfig, mapping: dict[str, str], accepted: set[str], extra: dict[str, Any]) -> dict[str, Any]:
    """The recipe numbers a component's Options accept, plus the user's extra options."""
    values = {target: getattr(config, source) for source, target in mapping.items()
              if target in accepted and getattr(config, source) is not None}
    return {**values, **extra}
