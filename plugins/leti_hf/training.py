"""One training run with trl's SFTTrainer over a fixed, alternating sequence order."""

from __future__ import annotations

import dataclasses
import math
import os

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import datasets
from datasets import Dataset
from torch.utils.data import SequentialSampler
from transformers import PrinterCallback, Trainer, TrainerCallback
from trl import SFTConfig, SFTTrainer

from leti_core import ProgressCallback

from .corpus import chunks, iter_code
from .models import load_model, load_tokenizer, save, use_bf16
from .batches import batch_geometry, ordered_sequences


datasets.disable_progress_bars()


class _InOrderTrainer(SFTTrainer):
    """SFTTrainer that keeps the dataset's order, so feedback and code batches alternate."""

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> SequentialSampler:
        return SequentialSampler(self.train_dataset)

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        """On CPU, the model's own loss: trl's fused LM head runs its matmuls in fp32 there (38% of a
        step in a profile). Both sum the token losses and divide by the global non-padding token count."""
        if self.args.device.type == "cpu":
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class _Progress(TrainerCallback):
    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress(1)


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text followed by EOS, cut to ``max_length``."""
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [(row + [tokenizer.eos_token_id])[:max_length] for row in ids]


def run_training(options: Any, model: str, texts: list[str], output_dir: Path,
                 progress: ProgressCallback | None) -> dict[str, float]:
    started = time.monotonic()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    tokenizer = load_tokenizer(model)
    network = load_model(model)
    feedback = tokenize_texts(tokenizer, texts, options.max_length)
    global_batch, micro, accumulation = batch_geometry(len(feedback), options.batch_size, options.micro_batch_size, world_size)
    pretraining: list[list[int]] = []
    if options.pretrain_mix:
        batches = options.epochs * math.ceil(len(feedback) / global_batch)
        pretraining = chunks(
            iter_code(options.pretrain_corpus),
            lambda text: tokenizer(text, add_special_tokens=False)["input_ids"],
            tokenizer.eos_token_id, options.max_length, batches * global_batch,
        )
    sequences, sources = ordered_sequences(feedback, pretraining, global_batch, options.epochs, options.seed)
    if options.lora:
        network = _with_lora(network, options.lora_rank)
    steps = len(sources)
    with tempfile.TemporaryDirectory(prefix="leti-trl-") as scratch:
        trainer = build_trainer(options, network, tokenizer, sequences, steps, micro, accumulation, Path(scratch), progress)
        result = trainer.train()
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        final = trainer.model
        if options.lora:
            final = final.merge_and_unload()
        if trainer.is_world_process_zero():
            save(final, tokenizer, output_dir)
    tokens = sum(len(seq) for seq in sequences)
    longest = [max(len(seq) for seq in sequences[i : i + micro]) * len(sequences[i : i + micro])
               for i in range(0, len(sequences), micro)]
    return {
        "steps": float(steps),
        "feedback_steps": float(sources.count("feedback")),
        "pretraining_steps": float(sources.count("pretraining")),
        "sequences": float(len(sequences)),
        "tokens": float(tokens),
        "feedback_tokens": float(sum(len(seq) for seq in feedback) * options.epochs),
        "padding_share": 1 - tokens / sum(longest),
        "train_loss": float(result.training_loss),
        "first_loss": float(losses[0]) if losses else float("nan"),
        "last_loss": float(losses[-1]) if losses else float("nan"),
        "seconds": time.monotonic() - started,
        "global_batch": float(global_batch),
    }


def build_trainer(options: Any, network: Any, tokenizer: Any, sequences: list[list[int]], steps: int, micro: int,
                  accumulation: int, scratch: Path, progress: ProgressCallback | None = None) -> _InOrderTrainer:
    """The trl trainer for ``steps`` optimizer steps over ``sequences`` in their given order."""
    config = SFTConfig(
        output_dir=str(scratch),
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=1,
        max_steps=steps,
        learning_rate=options.learning_rate,
        weight_decay=options.weight_decay,
        lr_scheduler_type="constant",
        warmup_steps=0,
        optim="adamw_torch",
        bf16=use_bf16(options.precision),
        use_cpu=not torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        **_checkpointing(options.gradient_checkpointing),
        max_length=options.max_length,
        packing=False,
        save_strategy="no",
        logging_steps=1,
        report_to=[],
        seed=options.seed,
        dataloader_drop_last=False,
        disable_tqdm=True,
    )
    trainer = _InOrderTrainer(
        model=network,
        args=config,
        train_dataset=Dataset.from_dict({"input_ids": sequences}),
        processing_class=tokenizer,
        callbacks=[_Progress(progress)],
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


def _checkpointing(enabled: bool) -> dict[str, bool]:
    """Activation checkpointing said explicitly (trl turns it on unless told), by the name this
    transformers knows: ``activation_checkpointing`` since 5.x, ``gradient_checkpointing`` before."""
    names = {field.name for field in dataclasses.fields(SFTConfig)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": enabled}


def _with_lora(network: Any, rank: int) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        from leti_core import LetiError

        raise LetiError("--lora needs peft: pip install 'leti[lora]'") from None
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, task_type="CAUSAL_LM", target_modules="all-linear")
    return get_peft_model(network, config)



