"""The `ct2` sampler: n samples per prompt with CTranslate2, under the same token budget as `hf`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import Field

from leti_core import (
    LetiError,
    ProgressCallback,
    Sampler,
    SamplerOptions,
    SamplingParams,
    in_batches,
    own_attention,
    render_with,
)


class CT2Sampler(Sampler):
    """Samples with temperature and top-p under a total token budget; EOS or a stop word ends a sample."""

    name = "ct2"

    class Options(SamplerOptions):
        compute_type: Literal["float32", "int8_float32", "int8", "int16", "float16", "bfloat16"] = Field(
            default="float32",
            description="float32 writes what hf writes in fp32; int8 is faster but changes what the model writes",
        )
        device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: cuda where there is one")
        threads: int = Field(default=0, ge=0, description="CPU threads (0: all cores)")
        _attention = own_attention("CTranslate2")

    @classmethod
    def preference(cls) -> int:
        """Never chosen by default: on CPUs with bf16 (AMX), `hf` in bf16 samples faster than
        CTranslate2 in any compute type it has there (benchmarks/sampler_throughput.py); choose it
        with --sampler ct2 where the benchmark says otherwise."""
        return 0

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        try:
            import ctranslate2  # noqa: F401
        except ImportError:
            raise LetiError("sampler 'ct2' needs CTranslate2: pip install 'leti[ct2]'") from None
        self._loaded: tuple[str, Any, Any] | None = None
        #: Counters since construction: sequences and generated tokens (up to EOS or the stop).
        self.stats = {"sequences": 0, "generated_tokens": 0}

    def _load(self, model: str) -> tuple[Any, Any]:
        if self._loaded is None or self._loaded[0] != model:
            self.close()
            import ctranslate2
            from transformers import AutoTokenizer

            from .convert import converted

            folder = converted(model, self.options)
            tokenizer = AutoTokenizer.from_pretrained(model, **self._hub())
            device = self.options.device
            if device == "auto":
                device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
            generator = ctranslate2.Generator(
                str(folder),
                device=device,
                compute_type=self.options.compute_type,
                intra_threads=self.options.threads or (os.cpu_count() or 1),
            )
            self._loaded = (model, tokenizer, generator)
        return self._loaded[1], self._loaded[2]

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        from transformers import AutoTokenizer

        return render_with(AutoTokenizer.from_pretrained(model, **self._hub()), messages)

    def _hub(self) -> dict[str, Any]:
        return {"revision": self.options.revision, "trust_remote_code": self.options.trust_remote_code}

    def close(self) -> None:
        self._loaded = None

    def sample(
        self, model: str, prompts: Sequence[str], params: SamplingParams, progress: ProgressCallback | None = None
    ) -> Iterator[list[str]]:
        import ctranslate2

        tokenizer, generator = self._load(model)
        ctranslate2.set_random_seed(params.random_seed)
        encoded = [tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
        yield from in_batches(
            encoded,
            params.n,
            self.options.batch_size,
            lambda batch: self._generate(tokenizer, generator, batch, params),
            progress,
        )

    def _generate(self, tokenizer: Any, generator: Any, prompts: list[list[int]], params: SamplingParams) -> list[str]:
        budgets = [params.max_tokens - len(ids) for ids in prompts]
        if max(budgets) <= 0:
            return [""] * len(prompts)
        tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in prompts]
        # each sequence has its own budget (prompt + completion <= max_tokens) and stops on its own
        watcher = _StopWatcher(tokenizer, params.stop, budgets) if params.stop or len(set(budgets)) > 1 else None
        sampling: dict[str, Any] = (
            {"sampling_temperature": params.temperature, "sampling_topk": 0, "sampling_topp": params.top_p}
            if params.temperature > 0
            else {"sampling_topk": 1}
        )
        results = generator.generate_batch(
            tokens,
            max_length=max(budgets),
            include_prompt_in_result=False,
            end_token=tokenizer.eos_token,
            callback=watcher,
            **sampling,
        )
        texts = []
        for result, budget in zip(results, budgets, strict=True):
            ids = result.sequences_ids[0][: max(0, budget)]
            self.stats["sequences"] += 1
            self.stats["generated_tokens"] += len(ids)
            texts.append(tokenizer.decode(ids, skip_special_tokens=False))
        return texts


class _StopWatcher:
    """Ends a sequence once its text holds a stop word, or its own token budget is spent."""

    def __init__(self, tokenizer: Any, stop: Sequence[str], budgets: list[int]) -> None:
        self.tokenizer, self.stop, self.budgets = tokenizer, tuple(stop), budgets
        self.ids: dict[int, list[int]] = {}
        self.longest = max((len(word) for word in stop), default=0)

    def __call__(self, step: Any) -> bool:
        ids = self.ids.setdefault(step.batch_id, [])
        ids.append(step.token_id)
        if len(ids) >= self.budgets[step.batch_id]:
            return True
        if not self.stop:
            return False
        tail = self.tokenizer.decode(ids[-(self.longest + 8) :], skip_special_tokens=False)
        return any(word in tail for word in self.stop)
