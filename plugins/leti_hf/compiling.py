"""torch.compile for CPU training, once per machine rather than once per iteration: Inductor's FX
graph and autograd caches live in LeTI's cache folder, the decoder's layers are compiled with
dynamic shapes (one compiled code for every layer and every micro-batch's length), and compiling
is chosen when the tokens to train make up for its cost."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from leti_core import cache_folder

#: the environment variable through which Inductor finds its cache (a user's setting is kept)
CACHE_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"
#: how compile_decoder compiles, in the cache key: a cache the whole decoder compiled at once warmed is cold for it
COMPILED = "layer by layer"


@dataclass(frozen=True)
class CompileCosts:
    """What compiling the decoder's layers costs and saves for SmolLM2-135M on 2 cores (scaled by
    parameters for other models), on a CPU with AMX (bf16 matrix units). Steps: 1.15x eager ones,
    measured for the whole decoder compiled on a Xeon with AMX (1.2x with tcmalloc); layer by layer
    not yet measured there. Compiling: 30 s into an empty cache, about 5 s from the warm one,
    measured layer by layer on an AMD EPYC (benchmarks/training_throughput.py, 54,100 tokens, three
    trainings sharing a cache). Eager whole trainings: 537 tokens/s in the main command on the Xeon,
    430 on the EPYC."""

    eager_tokens_per_second: float = 450.0  # at 135M parameters, micro-batch 4, whole trainings
    speedup: float = 1.15  # compiled steps against eager ones
    cold_seconds: float = 30.0  # tracing one layer and Inductor's code generation into an empty cache
    warm_seconds: float = 5.0  # tracing again, the generated code from the cache
    parameters: float = 135e6


#: on a CPU without AMX compiled steps were no faster: 0.98x eager ones after the first step in the
#: main command's training (319,602 tokens) and 1.045x in the 54,100-token benchmark, on an AMD EPYC
#: (Zen 5, avx512_bf16), so compiling never pays there
WITHOUT_AMX = CompileCosts(speedup=1.0)


def measured_costs(amx: bool) -> CompileCosts:
    """The compile costs measured on this kind of CPU: with AMX, or without."""
    return CompileCosts() if amx else WITHOUT_AMX


def cache_dir() -> Path:
    """Point Inductor's caches at LeTI's cache folder (unless the user chose one) and return where they are."""
    import torch._functorch.config as functorch_config
    import torch._inductor.config as inductor_config
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    chosen = os.environ.get(CACHE_VARIABLE)  # torch writes its default there once it has looked
    folder = chosen if chosen and chosen != default_cache_dir() else str(cache_folder("torch-compile"))
    os.environ[CACHE_VARIABLE] = folder

    inductor_config.fx_graph_cache = True
    functorch_config.enable_autograd_cache = True
    return Path(folder)


def cache_key(model_config: Any, options: dict[str, Any]) -> str:
    """What the cached code depends on: the model's architecture, torch's version, how the decoder is
    compiled and the options that change the graph (precision, attention, checkpointing)."""
    text = json.dumps([model_config.to_diff_dict(), torch.__version__, COMPILED, options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _marker(folder: Path, key: str) -> Path:
    return folder / "leti-compiled" / key


def is_warm(folder: Path, key: str) -> bool:
    """Whether a training with this key has compiled into ``folder`` before."""
    return _marker(folder, key).is_file()


def mark_warm(folder: Path, key: str) -> None:
    marker = _marker(folder, key)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")


def decide(tokens: int, parameters: int, warm: bool, costs: CompileCosts = CompileCosts()) -> tuple[bool, float, float]:
    """(compile?, eager seconds, compiled seconds including compilation) for ``tokens`` training tokens."""
    eager = tokens / (costs.eager_tokens_per_second * costs.parameters / max(1, parameters))
    compiled = eager / costs.speedup + (costs.warm_seconds if warm else costs.cold_seconds)
    return compiled < eager, eager, compiled


def compile_decoder(decoder: torch.nn.Module) -> None:
    """Compile ``decoder`` in place (its parameters and state dict keep their names), every dimension
    dynamic so that one graph serves every micro-batch shape. A decoder built of a list of layers of
    one class is compiled layer by layer (regional compilation): the layers share one compiled code,
    so compiling costs about one layer's tracing, not the whole stack's."""
    layers = getattr(decoder, "layers", None)
    if isinstance(layers, torch.nn.ModuleList) and len(layers) and len({type(layer) for layer in layers}) == 1:
        for layer in layers:
            layer.compile(dynamic=True)
    else:
        decoder.compile(dynamic=True)
