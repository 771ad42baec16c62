"""What every component of a kind shares: the ``Options`` bases its implementers subclass.

A field marked ``shortcut`` gets a top-level config key and a flag of its own (``epochs = 1``,
``--epochs 1``), which sets that option of the chosen component of the kind; ``SHORTCUTS`` is
derived from these models, so a new shared option needs no table of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .components import Options
from .sampling import SamplingParams
from .sandboxed import SandboxOptions


def shortcut(key: str | None = None) -> dict[str, Any]:
    """Field metadata: the option has a top-level key (its own name, or ``key``)."""
    return {"shortcut": key or True}


class TaskOptions(Options):
    """Every task's options."""

    data: Path | None = Field(
        default=None, description="the task's data: a file or folder [the task's own]", json_schema_extra=shortcut()
    )


class SandboxBackendOptions(Options):
    """Every sandbox backend's options."""

    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="programs run at once [the machine's cores]",
        json_schema_extra=shortcut(),
    )


class HubOptions(BaseModel):
    """How a model is loaded (from the hub or a folder): the same for every sampler and trainer, so
    one flag reaches all that load it."""

    revision: str | None = Field(
        default=None, description="the model's branch, tag or commit on the hub", json_schema_extra=shortcut()
    )
    trust_remote_code: bool = Field(
        default=False, description="run the model repository's own code", json_schema_extra=shortcut()
    )
    attn_implementation: str | None = Field(
        default=None,
        description="attention kernel: eager, sdpa, flash_attention_2, ... [the library's choice]",
        json_schema_extra=shortcut(),
    )


def own_attention(engine: str) -> Any:
    """A validator for ``attn_implementation`` in the options of an engine with attention kernels of
    its own: refused, in one line that says so."""

    def refuse(cls: type, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(f"{engine} chooses its own attention kernels: attn_implementation does not apply")
        return value

    return field_validator("attn_implementation")(classmethod(refuse))


class SamplerOptions(Options, HubOptions):
    """Every sampler's engine settings (what a call asks is in ``SamplingParams``)."""

    batch_size: int = Field(
        default=32, ge=1, description="sequences generated at once", json_schema_extra=shortcut("sample_batch_size")
    )


Precision = Literal["auto", "bf16", "fp32"]


class CorpusSource(BaseModel):
    """A hub dataset as a pretraining corpus, e.g. the paper's The Stack:
    ``{name = "bigcode/the-stack", data_dir = "data/python"}``. Streamed, never downloaded whole."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the dataset's hub id (or a local dataset folder)")
    data_dir: str | None = Field(default=None, description="a folder of the dataset (The Stack: data/python)")
    config: str | None = Field(default=None, description="the dataset's configuration")
    revision: str | None = Field(default=None, description="a branch, tag or commit of the dataset")
    column: str | None = Field(default=None, description="the column holding the code [content, else text]")
    split: str = "train"


class TrainerOptions(Options, HubOptions):
    """Every trainer's options: the paper's recipe numbers, and how training is set up. A trainer that
    cannot honour one that was set (``lora`` without adapters, say) raises LetiError when built.
    ``max_length`` and ``seed`` are the run's ``max_tokens`` and ``seed`` unless set here."""

    epochs: int = Field(
        default=3, ge=1, description="passes over the training texts per iteration", json_schema_extra=shortcut()
    )
    learning_rate: float = Field(
        default=1e-5, gt=0, description="AdamW learning rate (constant)", json_schema_extra=shortcut()
    )
    weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay", json_schema_extra=shortcut())
    batch_size: int = Field(
        default=128, ge=1, description="sequences per optimizer step (global)", json_schema_extra=shortcut()
    )
    micro_batch_size: int = Field(
        default=4, ge=1, description="sequences per forward pass per device", json_schema_extra=shortcut()
    )
    max_length: int = Field(
        default=SamplingParams.model_fields["max_tokens"].default,
        ge=16,
        description="tokens per sequence [the run's max_tokens]",
    )
    seed: int = Field(
        default=SamplingParams.model_fields["seed"].default,
        description="seed of the data order and initialisation [the run's seed]",
    )
    precision: Precision = Field(default="auto", description="auto: bf16 where supported", json_schema_extra=shortcut())
    pretrain_mix: bool = Field(
        default=True,
        description="alternate 1:1 with pretraining batches (the paper's regularisation)",
        json_schema_extra=shortcut(),
    )
    pretrain_corpus: str | CorpusSource = Field(
        default="stdlib",
        description="'stdlib', a folder of .py files, a hub dataset's name, or a table naming a hub dataset "
        "(name, data_dir, revision, column, split)",
        json_schema_extra=shortcut(),
    )
    lora: bool = Field(
        default=False, description="train adapters (LoRA) instead of every weight", json_schema_extra=shortcut()
    )
    launcher: str | None = Field(
        default=None,
        description="run training under this command, e.g. 'accelerate launch --num_processes 8'",
        json_schema_extra=shortcut(),
    )


#: Component kind -> the Options base every component of the kind subclasses.
SHARED_OPTIONS: dict[str, type[Options]] = {
    "task": TaskOptions,
    "environment": SandboxOptions,
    "sandbox": SandboxBackendOptions,
    "sampler": SamplerOptions,
    "trainer": TrainerOptions,
}
