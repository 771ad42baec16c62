"""Finding, loading and saving models: hub ids, local folders, GGUF files, the embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from leti_core import HubOptions, LetiError, stream_seed


def _source(reference: str) -> tuple[str, dict[str, Any]]:
    """``from_pretrained`` arguments for a hub id, a checkpoint folder or a GGUF file."""
    path = Path(reference).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise LetiError(f"model file {path} does not exist")
        return str(path.parent), {"gguf_file": path.name}
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise LetiError(f"model folder {path} has no config.json: not a transformers checkpoint")
        return str(path), {}
    if path.exists():
        raise LetiError(f"model {path} is neither a checkpoint folder nor a .gguf file")
    return reference, {}


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux's /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def bf16_supported() -> bool:
    """Whether this machine computes in bf16 natively: a GPU that says so, or a CPU with
    AVX512-BF16 or AMX (there bf16 trains and samples about 1.7x faster than fp32)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def has_amx() -> bool:
    """Whether the CPU has AMX's bf16 matrix units."""
    return "amx_bf16" in cpu_flags()


def use_bf16(precision: str) -> bool:
    """``precision`` is "bf16", "fp32" or "auto" (bf16 where the hardware supports it)."""
    return precision == "bf16" or (precision == "auto" and bf16_supported())


def _hub_kwargs(hub: HubOptions | None, model: bool) -> dict[str, Any]:
    """``from_pretrained`` arguments for the hub options that are set (the attention for models only)."""
    if hub is None:
        return {}
    found: dict[str, Any] = {"trust_remote_code": hub.trust_remote_code}
    if hub.revision:
        found["revision"] = hub.revision
    if model and hub.attn_implementation:
        found["attn_implementation"] = hub.attn_implementation
    return found


def load_tokenizer(reference: str, hub: HubOptions | None = None) -> PreTrainedTokenizerBase:
    name, extra = _source(reference)
    extra = {**extra, **_hub_kwargs(hub, model=False)}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **extra)
    except Exception as error:
        raise LetiError(f"model {reference!r} cannot be found or loaded{_where(reference)}: {_short(error)}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(reference: str, dtype: torch.dtype | None = None, hub: HubOptions | None = None) -> PreTrainedModel:
    name, extra = _source(reference)
    extra = {**extra, **_hub_kwargs(hub, model=True)}
    try:
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype or torch.float32, **extra)
    except Exception as error:
        raise LetiError(f"model {reference!r} cannot be found or loaded{_where(reference)}: {_short(error)}") from None
    # A GGUF checkpoint is de-quantised on load; forget that so it saves as a normal checkpoint.
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types its attributes loosely
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False  # type: ignore[assignment]
    return model


def add_special_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tokens: Sequence[str]) -> int:
    """Add ``tokens`` as special tokens, growing the embeddings when needed; returns how many were new."""
    added = tokenizer.add_special_tokens(
        {"additional_special_tokens": list(tokens)}, replace_extra_special_tokens=False
    )
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:  # type: ignore[index]
        model.resize_token_embeddings(len(tokenizer))
    return added


def save(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, output_dir: Path) -> None:
    """Save model and tokenizer to ``output_dir`` whole or not at all (temporary folder, renamed)."""
    import shutil

    output_dir = Path(output_dir)
    partial = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(output_dir, ignore_errors=True)
    partial.rename(output_dir)


def prepare_checkpoint(model: str, special_tokens: Sequence[str], output_dir: Path, hub: HubOptions, seed: int) -> None:
    """``model`` saved to ``output_dir`` with ``special_tokens`` added; their new embeddings (the old
    ones' mean plus a little noise) are drawn from ``seed``, so a run's start is the same each time."""
    tokenizer = load_tokenizer(model, hub)
    network = load_model(model, hub=hub)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(seed, "special tokens"))
        add_special_tokens(network, tokenizer, special_tokens)
    save(network, tokenizer, Path(output_dir))


#: Files of a checkpoint folder that only the trainer reads.
TRAINER_ONLY = ("training_args.bin",)


def export_checkpoint(checkpoint: Path, output_dir: Path) -> None:
    """``checkpoint`` as a plain transformers model folder at ``output_dir``, whole or not at all:
    adapters (an adapter-only LoRA checkpoint) merged into the weights they were trained on, a
    whole checkpoint copied as it is (less what only the trainer reads)."""
    import shutil

    checkpoint, output_dir = Path(checkpoint), Path(output_dir)
    partial = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if (checkpoint / "config.json").is_file():
        shutil.copytree(checkpoint, partial, ignore=shutil.ignore_patterns(*TRAINER_ONLY))
    elif (checkpoint / "adapter_config.json").is_file():
        save(_merged(checkpoint), load_tokenizer(str(checkpoint)), partial)
    else:
        raise LetiError(f"{checkpoint}: not a checkpoint (no config.json or adapter_config.json)")
    shutil.rmtree(output_dir, ignore_errors=True)
    partial.rename(output_dir)


def _merged(folder: Path) -> PreTrainedModel:
    """The model an adapter-only checkpoint describes: its base with the adapters merged in."""
    import json

    base = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
    try:
        from peft import AutoPeftModelForCausalLM
    except ImportError:
        raise LetiError(f"{folder} holds LoRA adapters: merging them needs peft: pip install 'leti[lora]'") from None
    try:
        model = AutoPeftModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    except Exception as error:
        raise LetiError(
            f"{folder}: cannot load the model its adapters were trained on ({base}){_where(str(base or ''))}: "
            f"{_short(error)}"
        ) from None
    return model.merge_and_unload()


def _where(reference: str) -> str:
    return "" if Path(reference).expanduser().exists() else " (no such local path; tried the Hugging Face hub)"


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    if "trust_remote_code" in text or "contains custom code" in text:
        return "its repository carries code of its own: pass --trust-remote-code (option trust_remote_code) to run it"
    return f"{type(error).__name__}: {text[:300]}"
