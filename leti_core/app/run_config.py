"""The configuration of a LeTI run: which components, the loop's own numbers, and each
component's options as the user set them.

A component's options (their defaults, bounds and descriptions) live only in its ``Options``
model; the config holds what the user chose, by kind (``trainer_options = {"epochs": 1}``).
``SHORTCUTS`` (top-level keys and flags such as ``epochs = 1``, ``--epochs 1``) are derived from
the options every component of a kind shares (``shared_options.py``): each sets that option of the
chosen component. The sampling parameters (``SamplingParams``) are the run's own fields.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from ..errors import LetiError
from ..prompts import PromptFormat
from ..sampling import SamplingParams, sampling_field
from ..shared_options import SHARED_OPTIONS

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


def shortcut_key(name: str, info: FieldInfo) -> str | None:
    """The top-level key of an option marked ``shortcut`` (see ``shared_options.shortcut``), else None."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    marker = extra.get("shortcut")
    return None if not marker else (marker if isinstance(marker, str) else name)


def _shortcuts() -> dict[str, tuple[Target, ...]]:
    table: dict[str, list[Target]] = {}
    for kind, model in SHARED_OPTIONS.items():
        for name, info in model.model_fields.items():
            key = shortcut_key(name, info)
            if key is not None:
                table.setdefault(key, []).append((kind, name))
    return {key: tuple(targets) for key, targets in table.items()}


#: Top-level keys (and flags) for component options: key -> (kind, option) of the shared options it
#: sets. A chosen component that marks another option with the same key gets it too (the `hf`
#: sampler's ``precision``).
SHORTCUTS: dict[str, tuple[Target, ...]] = _shortcuts()
#: Keys that moved: where an old config or run folder had them -> where they are now.
MOVED = {
    ("sampler_options", "top_p"): "top_p",
    ("sampler_options", "max_tokens"): "max_tokens",
    ("sampler_options", "seed"): "seed",
}
#: The run's fields that are also its trainer's options unless ``trainer_options`` sets them (an old
#: run folder got both from one shortcut): field -> trainer option.
TRAINER_DEFAULTS = {"max_tokens": "max_length", "seed": "seed"}

#: What a resume may change: (field, option) pairs that do not alter work already done.
RESUMABLE = {("iterations", None), ("eval_base", None), ("trainer_options", "launcher")}


class RunConfig(BaseModel):
    """A run: its components by name, the loop's numbers, and the options set for each component."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(default="mbpp", description="Task.")
    env: str | None = Field(default=None, description="Environment [the task's].")
    feedback: str = Field(default="traceback", description="Feedback formatter (traceback, binary, ...)")
    sampler: str | None = Field(
        default=None, description="Sampler [the best installed for this machine: vllm with a GPU, else hf]."
    )
    trainer: str = Field(default="hf", description="Trainer.")
    model: str | None = Field(
        default=None, description="Hub id, checkpoint folder or .gguf file [embedded SmolLM2-135M]."
    )
    training_data: Literal["feedback", "gold"] = Field(
        default="feedback", description="feedback: LeTI; gold: the fine-tuned baseline on reference solutions."
    )
    prompt_format: PromptFormat = Field(
        default="auto",
        description="raw: the task's prompt as it is (the paper's, for base models); chat: the "
        "problem asked with the model's chat template, answered in a code block (instruct models); auto: chat "
        "where the model has a chat template.",
    )
    iterations: int = Field(default=1, ge=1, description="LeTI iterations.")
    problems: int | None = Field(default=None, ge=1, description="Training problems [all].")
    samples: int = Field(default=128, ge=1, description="Samples per training problem.")
    temperature: float = Field(default=1.0, ge=0, description="Temperature of the training samples.")
    top_p: float = sampling_field("top_p")
    max_tokens: int = Field(
        default=SamplingParams.model_fields["max_tokens"].default,
        ge=16,
        description=(
            "Prompt + completion tokens of every sample, and the trainer's max_length unless trainer_options sets it."
        ),
    )
    seed: int = Field(
        default=SamplingParams.model_fields["seed"].default,
        description=("Seed of the sampling, and the trainer's seed unless trainer_options sets it."),
    )
    eval_problems: int | None = Field(
        default=10, ge=1, description="Held-out problems evaluated each iteration (the paper: all 500)."
    )
    eval_samples: int = Field(default=16, ge=1, description="Samples per held-out problem.")
    eval_temperature: float = Field(default=0.1, ge=0, description="Temperature of the held-out samples.")
    eval_condition: Condition = Field(default="good", description="Held-out prompt prefix: <|good|>, <|bad|> or none.")
    eval_stop: bool = Field(
        default=True,
        description="Stop held-out samples at the task's stop words and report only the "
        "post-processed pass@k (the paper's); --no-eval-stop samples full length and reports raw pass@k too.",
    )
    save_every: int = Field(
        default=256,
        ge=1,
        description="Programs sampled and executed between saves of a sampling stage: a killed "
        "run resumes after the last save. Each save's chunk has its own random stream, so this number is part of "
        "what the samples are.",
    )
    eval_base: bool = Field(
        default=False,
        description="Evaluate the starting model first, as iteration 0 (where the paper's curves "
        "start), without a reward token: it has not learned them yet.",
    )
    max_sandbox_errors: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of an iteration's programs the sandbox may fail to run before "
        "the iteration stops instead of training (such results are retried once, never trained on, not in pass@k).",
    )
    start_from: str | None = Field(
        default=None,
        description="A run folder whose starting model, evaluation of it (iteration 0) and first-iteration samples this "
        "run reuses, their feedback given anew: the arms of a comparison then differ only in their feedback. The "
        "two runs must agree on everything but feedback, trainer options and iterations.",
    )
    task_options: dict[str, Any] = Field(default_factory=dict, description="options of the task")
    env_options: dict[str, Any] = Field(default_factory=dict, description="options of the environment")
    sandbox_options: dict[str, Any] = Field(default_factory=dict, description="options of the sandbox")
    feedback_options: dict[str, Any] = Field(default_factory=dict, description="options of the feedback formatter")
    sampler_options: dict[str, Any] = Field(default_factory=dict, description="options of the sampler")
    trainer_options: dict[str, Any] = Field(default_factory=dict, description="options of the trainer")

    def training_sampling(self, stop: Sequence[str] = ()) -> SamplingParams:
        """The training samples' parameters."""
        return SamplingParams(
            n=self.samples,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            seed=self.seed,
            stop=tuple(stop),
        )

    def eval_sampling(self, stop: Sequence[str] = ()) -> SamplingParams:
        """The held-out samples' parameters."""
        return SamplingParams(
            n=self.eval_samples,
            temperature=self.eval_temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            seed=self.seed,
            stop=tuple(stop),
        )

    def trainer_defaults(self) -> dict[str, Any]:
        """What the run sets of its trainer's options unless ``trainer_options`` does: the length
        and seed the user gave the run."""
        return {
            option: getattr(self, field) for field, option in TRAINER_DEFAULTS.items() if field in self.model_fields_set
        }

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
    if path.suffix not in {".toml", ".yaml", ".yml", ".json"}:
        raise LetiError(f"{path}: config files must end in .toml, .yaml, .yml or .json")
    import yaml

    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    # TOMLDecodeError and JSONDecodeError are ValueErrors; nesting deeper than Python parses is a RecursionError
    except (ValueError, RecursionError, OverflowError, yaml.YAMLError) as error:
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


def moved_keys(values: dict[str, Any], source: str, warn: Callable[[str], None]) -> dict[str, Any]:
    """``values`` with keys that moved (``MOVED``) put where they are now, one line each to ``warn``;
    where both are set, the new place wins."""
    values = dict(values)
    for (table, option), key in MOVED.items():
        options = values.get(table)
        if isinstance(options, dict) and option in options:
            options = dict(options)
            value = options.pop(option)
            values[table] = options
            values.setdefault(key, value)
            trainer = values.get("trainer_options")
            twin = TRAINER_DEFAULTS.get(key)
            if isinstance(trainer, dict) and twin is not None and trainer.get(twin) == value:
                values["trainer_options"] = {name: item for name, item in trainer.items() if name != twin}
            warn(f"{source}: {table}.{option} is now the run's {key!r} (--{key.replace('_', '-')}); read it from there")
    return values


def validate_config(values: dict[str, Any], source: Path | None = None) -> RunConfig:
    """RunConfig from plain values; a one-line LetiError naming the file and the option otherwise."""
    try:
        return RunConfig.model_validate(values)
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(p) for p in detail["loc"])
        prefix = f"{source}: " if source else ""
        raise LetiError(f"{prefix}option {where}: {detail['msg']} (got {detail.get('input')!r})") from None
