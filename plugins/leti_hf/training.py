"""One training run with trl's SFTTrainer over a fixed, alternating sequence order."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from datasets import Dataset
from torch.utils.data import SequentialSampler
from transformers import PrinterCallback, Trainer, TrainerCallback
from trl import SFTConfig, SFTTrainer

from leti_core import LetiError, ProgressCallback, call_progress

from .batches import batch_geometry, ordered_sequences
from .chunked_loss import linear_cross_entropy
from .compiling import cache_dir, cache_key, compile_decoder, decide, is_warm, mark_warm, measured_costs
from .corpus import chunks, iter_code
from .heap import freed_memory_kept
from .models import has_amx, load_tokenizer, use_bf16
from .recomputed_activations import recompute_activations

if TYPE_CHECKING:
    from .trainer import HFTrainer

    HFOptions = HFTrainer.Options


class _InOrderTrainer(SFTTrainer):
    """SFTTrainer that keeps the dataset's order, so feedback and code batches alternate."""

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> SequentialSampler:
        return SequentialSampler(self.train_dataset)  # type: ignore[arg-type]  # a datasets.Dataset: sized

    #: tokens whose fp32 logits are live at once on CPU (0: the model's own loss over full logits)
    loss_chunk_tokens = 0

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """On CPU, the causal-LM loss in chunks of tokens (or the model's own loss): trl's fused LM
        head runs its matmuls in fp32 there (38% of a step in a profile). Each sums the token losses
        and divides by the global non-padding token count."""
        if self.args.device.type != "cpu":
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        # several processes (DDP, FSDP, ZeRO-3) take the model's own loss: their wrappers' forward
        # gathers shards and reduces gradients, which calling the decoder directly would skip
        single = self.accelerator.num_processes == 1
        if return_outputs or not self.loss_chunk_tokens or num_items_in_batch is None or not single:
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        parts = _decoder_and_head(self.accelerator.unwrap_model(model))
        if parts is None:
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        decoder, head = parts
        features = {key: value for key, value in inputs.items() if key != "labels"}
        with self.accelerator.autocast():  # what accelerate wraps the model's own forward in
            hidden = decoder(**features, use_cache=False).last_hidden_state
            loss = linear_cross_entropy(
                hidden, head.weight, inputs["labels"], num_items_in_batch, self.loss_chunk_tokens
            )
        if self.args.average_tokens_across_devices:  # as Trainer.compute_loss: the mean over every process
            loss = loss * self.accelerator.num_processes
        return loss


def _decoder_and_head(model: Any) -> tuple[Any, torch.nn.Linear] | None:
    """The decoder (returning the last hidden states) and the bias-free LM head of a causal LM (a LoRA
    model's base), or None for a model of another shape."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = getattr(inner, "lm_head", None)
    decoder = getattr(inner, "model", None)
    if not isinstance(head, torch.nn.Linear) or head.bias is not None or not isinstance(decoder, torch.nn.Module):
        return None
    return decoder, head


class _Progress(TrainerCallback):
    """Feeds LeTI's progress display in tokens (the non-padding tokens of ``lengths``, the sequences
    in the order the trainer takes them): the total when training begins, then each micro-batch's
    tokens as it ends, so a log gets its line every interval even while one optimizer step (many
    micro-batches under gradient accumulation) takes minutes."""

    def __init__(self, progress: ProgressCallback | None, lengths: Sequence[int]) -> None:
        self.progress, self.lengths = progress, list(lengths)
        self.micro_batch = self.global_batch = 1  # sequences on all ranks, known when training begins
        self.done = 0  # sequences trained on

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.micro_batch = args.per_device_train_batch_size * args.world_size
        self.global_batch = self.micro_batch * args.gradient_accumulation_steps
        self.done = min(len(self.lengths), state.global_step * self.global_batch)
        if self.progress is None:
            return
        before, total = sum(self.lengths[: self.done]), sum(self.lengths)  # before: resumed, done already
        call_progress(self.progress, before, total=total, unit="tokens")

    def on_substep_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._advance(min(self.done + self.micro_batch, (state.global_step + 1) * self.global_batch))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._advance(state.global_step * self.global_batch)

    def _advance(self, to: int) -> None:
        """The sequences up to ``to`` are done: their tokens to the display."""
        to = min(to, len(self.lengths))
        if to > self.done and self.progress is not None:
            self.progress(sum(self.lengths[self.done : to]))
        self.done = max(self.done, to)


class _GradientsFirst(TrainerCallback):
    """On CPU in one process, allocates the gradients when training begins and again right after each
    optimizer step frees them (``zero_grad``), before the next step's activations. Allocated by the
    first backward pass instead, they land between activations, and the heap keeps the holes they
    leave. (Several processes leave gradients to their wrapper: DDP's buckets, FSDP's and ZeRO's
    shards.)"""

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.on_step_end(args, state, control, model)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if model is None or args.device.type != "cpu" or args.world_size > 1:
            return
        for parameter in model.parameters():
            if parameter.requires_grad and parameter.grad is None:  # backward adds to the zeros
                parameter.grad = torch.zeros_like(parameter)


class _TokensPerSecond(TrainerCallback):
    """Adds training tokens/s (non-padding tokens of the optimizer steps so far) to the logs, and keeps
    when each step ended, for the rate after the first step (which pays for warm-up and compilation)."""

    def __init__(self, tokens_per_step: list[int]) -> None:
        self.tokens_per_step = tokens_per_step
        self.started = 0.0
        self.step_ends: list[tuple[int, float]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = time.monotonic()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.step_ends.append((state.global_step, time.monotonic()))

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if logs is not None and "loss" in logs and state.global_step:
            done = sum(self.tokens_per_step[: state.global_step])
            logs["tokens_per_second"] = done / max(1e-9, time.monotonic() - self.started)

    def after_first_step(self) -> float | None:
        """Tokens/s of the steps after this process's first (None with fewer than two)."""
        if len(self.step_ends) < 2:
            return None
        (first, began), (last, ended) = self.step_ends[0], self.step_ends[-1]
        return sum(self.tokens_per_step[first:last]) / max(1e-9, ended - began)


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text followed by EOS, cut to ``max_length``."""
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [(row + [tokenizer.eos_token_id])[:max_length] for row in ids]


def run_training(
    options: HFOptions,
    model: str,
    texts: list[str],
    output_dir: Path,
    progress: ProgressCallback | None,
    log_dir: Path | None = None,
) -> dict[str, float]:
    """Train the checkpoint ``model`` on ``texts`` and save the result to ``output_dir`` (whole or not at all).

    The trainer loads the model itself (after the distributed setup is live, so DeepSpeed ZeRO-3
    partitions it while loading) and saves with its own gathering save.
    """
    started = time.monotonic()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    tokenizer = load_tokenizer(model, options)
    feedback = tokenize_texts(tokenizer, texts, options.max_length)
    global_batch, micro, accumulation = batch_geometry(
        len(feedback), options.batch_size, options.micro_batch_size, world_size
    )
    pretraining: list[list[int]] = []
    if options.pretrain_mix:
        batches = options.epochs * math.ceil(len(feedback) / global_batch)
        pretraining = chunks(
            iter_code(options.pretrain_corpus),
            lambda text: tokenizer(text, add_special_tokens=False)["input_ids"],
            tokenizer.eos_token_id,
            options.max_length,
            batches * global_batch,
        )
    sequences, sources = ordered_sequences(feedback, pretraining, global_batch, options.epochs, options.seed)
    steps = len(sources)
    per_step = [
        sum(len(seq) for seq in sequences[i : i + global_batch]) for i in range(0, len(sequences), global_batch)
    ]
    state = resumable_state(Path(output_dir))
    trainer = build_trainer(
        options,
        _adapters_merged(model) or model,
        tokenizer,
        sequences,
        steps,
        micro,
        accumulation,
        state,
        progress,
        log_dir,
        per_step,
    )
    tokens = sum(len(seq) for seq in sequences)
    compiled = _compile_if_it_pays(trainer, options, tokens)
    if compiled is None and trainer.model is not None and _recomputes_activations(trainer, options):
        recompute_activations(trainer.model)
    with freed_memory_kept(options.keep_freed_memory and trainer.args.device.type == "cpu"):
        result = trainer.train(resume_from_checkpoint=last_whole_state(state))
    if compiled is not None:
        mark_warm(*compiled)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    save_checkpoint(trainer, tokenizer, output_dir, options)
    if trainer.is_world_process_zero():
        shutil.rmtree(state, ignore_errors=True)
    longest = [
        max(len(seq) for seq in sequences[i : i + micro]) * len(sequences[i : i + micro])
        for i in range(0, len(sequences), micro)
    ]
    seconds = time.monotonic() - started
    meter = next(callback for callback in trainer.callback_handler.callbacks if isinstance(callback, _TokensPerSecond))
    steady = meter.after_first_step()
    return ({} if steady is None else {"tokens_per_second_after_first_step": steady}) | {
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
        "train_seconds": float(result.metrics.get("train_runtime", seconds)),
        "tokens_per_second": tokens / max(1e-9, float(result.metrics.get("train_runtime", seconds))),
        "seconds": seconds,
        "global_batch": float(global_batch),
        "compiled": float(compiled is not None),
    }


def _recomputes_activations(trainer: Any, options: HFOptions) -> bool:
    """Whether this training recomputes its norms' and gated MLPs' activations: asked for, on CPU, in
    one process (the wrappers of several shard and gather around the modules' forward), and not under
    full activation checkpointing, which recomputes them already."""
    single = trainer.accelerator.num_processes == 1
    on_cpu = trainer.args.device.type == "cpu"
    return options.recompute_activations and on_cpu and single and not options.gradient_checkpointing


def _compile_if_it_pays(trainer: Any, options: HFOptions, tokens: int) -> tuple[Path, str] | None:
    """Compile the decoder when ``options.compile`` says so, or (unset) when compiling ``tokens`` training
    tokens pays for itself, counting a warm cache; say which and why on stderr. Returns the cache
    folder and key to mark warm once the training is done, or None when not compiling."""
    parts = _decoder_and_head(trainer.model)
    if parts is None or options.compile is False:
        return None
    folder = cache_dir()
    graph = {"bf16": trainer.args.bf16, "attention": options.attn_implementation, "lora": options.lora}
    key = cache_key(parts[0].config, graph | {"checkpointing": options.gradient_checkpointing})
    warm = is_warm(folder, key)
    parameters: int = sum(parameter.numel() for parameter in trainer.model.parameters())
    amx = trainer.args.device.type != "cpu" or has_amx()  # off CPU: the costs measured with AMX
    chosen, eager, compiled = decide(tokens, parameters, warm, measured_costs(amx))
    reason = (
        f"{tokens:,} tokens: about {eager:.0f} s eager, {compiled:.0f} s compiled "
        f"({'warm' if warm else 'cold'} cache in {folder}"
        f"{'' if amx else '; a CPU without AMX, where compiled steps are no faster'})"
    )
    if options.compile is None:
        print(f"training: {'compiling' if chosen else 'not compiling'}: {reason}", file=sys.stderr)
    else:
        chosen = True
        print(f"training: compiling (compile=true): {reason}", file=sys.stderr)
    if not chosen:
        return None
    compile_decoder(parts[0])
    return folder, key


def resumable_state(output_dir: Path) -> Path:
    """Where the training that will write ``output_dir`` keeps its resumable states."""
    return output_dir.with_name(output_dir.name + ".resume")


def last_whole_state(state: Path) -> str | None:
    """The newest resumable state under ``state`` that was written whole, or None. A kill during a
    save leaves a state without its trainer_state.json (the trainer writes it last, and removes the
    older state only after it): such a state is deleted and the one before it used."""
    numbered = (
        [
            (int(path.name.rsplit("-", 1)[1]), path)
            for path in state.glob("checkpoint-*")
            if path.name.rsplit("-", 1)[1].isdigit()
        ]
        if state.is_dir()
        else []
    )
    for _, folder in sorted(numbered, reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
            return str(folder)
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)
    return None


def _adapters_merged(model: str) -> Any:
    """An adapter-only checkpoint (``lora_checkpoint="adapter"``) as a model with its adapters merged
    (None for a whole checkpoint, which the trainer loads itself)."""
    folder = Path(model)
    if not ((folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file()):
        return None
    from peft import AutoPeftModelForCausalLM

    return AutoPeftModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).merge_and_unload()


def save_checkpoint(trainer: Any, tokenizer: Any, output_dir: Path, options: HFOptions) -> None:
    """Save with the trainer's gathering save (ZeRO-3 and FSDP shards come together) into a
    partial folder; once every rank is done, the main process moves it into place."""
    output_dir = Path(output_dir)
    partial = output_dir.with_name(output_dir.name + ".partial")
    main = trainer.is_world_process_zero()
    if main:
        shutil.rmtree(partial, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    if options.lora and options.lora_checkpoint == "merged":
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        if main:
            merged.save_pretrained(partial)
    else:
        trainer.save_model(str(partial))
    if main:
        tokenizer.save_pretrained(partial)
        shutil.rmtree(output_dir, ignore_errors=True)
        os.replace(partial, output_dir)
    trainer.accelerator.wait_for_everyone()


def build_trainer(
    options: HFOptions,
    model: Any,
    tokenizer: Any,
    sequences: list[list[int]],
    steps: int,
    micro: int,
    accumulation: int,
    state: Path,
    progress: ProgressCallback | None = None,
    log_dir: Path | None = None,
    tokens_per_step: list[int] | None = None,
) -> _InOrderTrainer:
    """The trl trainer for ``steps`` optimizer steps over ``sequences`` in their given order.

    ``model`` is a checkpoint path (the trainer loads it) or a model object; resumable states go
    to ``state`` every ``options.save_steps`` steps.
    """
    report_to = options.report_to if options.report_to is not None else _default_loggers(log_dir)
    values: dict[str, Any] = dict(
        output_dir=str(state),
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=1,
        max_steps=steps,
        learning_rate=options.learning_rate,
        weight_decay=options.weight_decay,
        lr_scheduler_type="constant",
        warmup_steps=0,
        bf16=use_bf16(options.precision),
        use_cpu=not torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        **_checkpointing(options.gradient_checkpointing),
        max_length=options.max_length,
        packing=False,
        save_strategy="steps" if options.save_steps else "no",
        save_steps=options.save_steps or 500,
        save_total_limit=1,
        logging_steps=1,
        report_to=[name for name in report_to if name != "tensorboard"],
        seed=options.seed,
        dataloader_drop_last=False,
        model_init_kwargs=_model_init_kwargs(options),
    )
    values.update(options.sft_options())
    callbacks: list[TrainerCallback] = [
        _Progress(progress, [len(seq) for seq in sequences]),
        _TokensPerSecond(tokens_per_step or []),
    ]
    if options.gradients_first:
        callbacks.append(_GradientsFirst())
    if "tensorboard" in report_to and log_dir is not None:
        callbacks.append(_tensorboard(log_dir))
    trainer = _InOrderTrainer(
        model=model,
        args=SFTConfig(**values),
        train_dataset=Dataset.from_dict({"input_ids": sequences}),
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=_lora_config(options) if options.lora else None,
    )
    # the loss goes to the loggers, train_metrics.json and the iteration's summary line, not to stdout
    trainer.remove_callback(PrinterCallback)
    trainer.loss_chunk_tokens = options.loss_chunk_tokens
    return trainer


def _default_loggers(log_dir: Path | None) -> list[str]:
    """TensorBoard into the run's folder where installed (and not turned off), wandb where enabled."""
    loggers = []
    if log_dir is not None and os.environ.get("LETI_TENSORBOARD", "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }:
        try:
            import tensorboard  # noqa: F401

            loggers.append("tensorboard")
        except ImportError:
            pass
    wandb_on = os.environ.get("LETI_WANDB", "").strip().lower() not in {"", "0", "false", "no", "off"}
    if wandb_on or os.environ.get("WANDB_PROJECT"):
        loggers.append("wandb")
    return loggers


def _tensorboard(log_dir: Path) -> TrainerCallback:
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(log_dir)))


def _model_init_kwargs(options: HFOptions) -> dict[str, Any]:
    """How the trainer loads the checkpoint: fp32 master weights (bf16 is autocast), the model's
    attention unless told, 4-bit frozen weights for QLoRA."""
    kwargs: dict[str, Any] = {"dtype": "float32", "trust_remote_code": options.trust_remote_code}
    if options.attn_implementation:
        kwargs["attn_implementation"] = options.attn_implementation
    if options.revision:
        kwargs["revision"] = options.revision
    if options.qlora:
        if not options.lora:
            raise LetiError("trainer 'hf': qlora needs lora")
        try:
            import bitsandbytes  # noqa: F401
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise LetiError("trainer 'hf': qlora needs bitsandbytes: pip install bitsandbytes") from None
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
        kwargs["dtype"] = "bfloat16"
    return kwargs


def _checkpointing(enabled: bool) -> dict[str, bool]:
    """Activation checkpointing said explicitly (trl turns it on unless told), by the name this
    transformers knows: ``activation_checkpointing`` since 5.x, ``gradient_checkpointing`` before."""
    names = {field.name for field in dataclasses.fields(SFTConfig)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": enabled}


def _lora_config(options: HFOptions) -> Any:
    try:
        from peft import LoraConfig
    except ImportError:
        raise LetiError("--lora needs peft: pip install 'leti[lora]'") from None
    return LoraConfig(
        r=options.lora_rank,
        lora_alpha=options.lora_alpha or 2 * options.lora_rank,
        lora_dropout=options.lora_dropout,
        task_type="CAUSAL_LM",
        target_modules=options.lora_target_modules,
    )
