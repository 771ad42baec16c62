"""The `hf` sampler: n raw samples per prompt with a transformers model, continuously batched."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, Literal

from pydantic import Field

from leti_core import (
    Precision,
    ProgressCallback,
    Sampler,
    SamplerOptions,
    SamplingParams,
    Worker,
    in_batches,
    in_prompt_order,
    render_with,
    shortcut,
)

from .placement import MIN_WEIGHT_BYTES, in_own_process


class HFSampler(Sampler):
    """Samples with temperature and top-p under a total token budget; EOS ends a sample."""

    name = "hf"

    @classmethod
    def preference(cls) -> int:
        """Always usable; the engines made for fast sampling come first where installed."""
        return 1

    class Options(SamplerOptions):
        precision: Precision = Field(
            default="auto", description="auto: bf16 where supported", json_schema_extra=shortcut()
        )
        decoding: Literal["continuous", "generate", "library"] = Field(
            default="continuous",
            description="continuous: a finished sequence's slot takes the next one at once "
            "(models with plain full-attention caches; others use generate); generate: transformers' "
            "model.generate on fixed batches; library: transformers' own continuous batching "
            "(generate_batch's manager, a paged cache; decodes past stop words to EOS or the budget)",
        )
        process: Literal["auto", "own", "this"] = Field(
            default="auto",
            description="own: load and run the model in a process of its own, ended by close() (the "
            "loop closes the sampler before training: torch, the model and GPU memory go back to the "
            "system); this: in the calling process, the model kept loaded between calls; auto: own, "
            f"except for local weights under {MIN_WEIGHT_BYTES // 2**20} MiB",
        )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: tuple[str, Any, Any] | None = None
        self._worker: Worker | None = None
        #: Counters since construction: sequences, generated tokens (up to EOS), padded positions.
        self.stats = {"sequences": 0, "generated_tokens": 0, "padding_tokens": 0}

    def _load(self, model: str) -> tuple[Any, Any]:
        import torch

        from .models import device, load_model, load_tokenizer, use_bf16

        if self._loaded is None or self._loaded[0] != model:
            self.close()
            tokenizer = load_tokenizer(model, self.options)
            tokenizer.padding_side = "left"
            dtype = torch.bfloat16 if use_bf16(self.options.precision) else torch.float32
            network = load_model(model, dtype, self.options).to(device()).eval()  # type: ignore[arg-type]  # transformers' .to
            self._loaded = (model, tokenizer, network)
        return self._loaded[1], self._loaded[2]

    def _worker_for(self, model: str) -> Worker | None:
        """The process that serves ``model``'s calls, or None to serve them in this one."""
        if not in_own_process(self.options.process, model):
            return None
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.close()  # one that died, or was ended when a stream was left
            options = self.options.model_dump() | {"process": "this"}
            self._worker = Worker("the hf sampler's process", partial(HFSampler, **options))
        return self._worker

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        worker = self._worker_for(model)
        if worker is not None:
            return worker.call("render_chat", model, list(messages))
        from .models import load_tokenizer

        return render_with(load_tokenizer(model, self.options), messages)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._loaded is None:
            return
        self._loaded = None
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def sample(
        self, model: str, prompts: Sequence[str], params: SamplingParams, progress: ProgressCallback | None = None
    ) -> Iterator[list[str]]:
        worker = self._worker_for(model)
        if worker is not None:
            yield from worker.stream("sample", model, list(prompts), params, progress=progress)
            for key, value in worker.call("_take_stats").items():
                self.stats[key] += value
            return
        import torch

        from .continuous import supports_continuous

        tokenizer, network = self._load(model)
        torch.manual_seed(params.random_seed)
        if self.options.decoding == "library":
            yield from self._continuous(tokenizer, network, prompts, params, progress, library=True)
        elif self.options.decoding == "continuous" and supports_continuous(network):
            yield from self._continuous(tokenizer, network, prompts, params, progress)
        else:
            yield from in_batches(
                prompts,
                params.n,
                self.options.batch_size,
                lambda batch: self._generate(tokenizer, network, batch, params),
                progress,
            )

    def _take_stats(self) -> dict[str, int]:
        """The counters since the last call (the calling process's sampler adds them to its own)."""
        taken = dict(self.stats)
        self.stats = dict.fromkeys(taken, 0)
        return taken

    def _continuous(
        self,
        tokenizer: Any,
        network: Any,
        prompts: Sequence[str],
        params: SamplingParams,
        progress: ProgressCallback | None,
        library: bool = False,
    ) -> Iterator[list[str]]:
        """Each prompt's ``n`` completions, in prompt order, as soon as all of them have ended (with our decoder,
        or with transformers' continuous batching when ``library``)."""
        import torch

        from .continuous import ContinuousDecoder, chooser, decode_with_library

        repeated = [prompt for prompt in prompts for _ in range(params.n)]
        decoder = ContinuousDecoder(
            network,
            tokenizer,
            self.options.batch_size,
            params.max_tokens,
            chooser(params.temperature, params.top_p),
            params.stop,
        )
        sequences = (
            decode_with_library(
                network,
                tokenizer,
                repeated,
                self.options.batch_size,
                params.max_tokens,
                params.temperature,
                params.top_p,
                params.random_seed,
                params.stop,
            )
            if library
            else decoder.decode(repeated)
        )

        def finished() -> Iterator[tuple[int, str]]:
            while True:
                with torch.inference_mode():  # not held while the caller has a group
                    ended = next(sequences, None)
                if ended is None:
                    self.stats["padding_tokens"] += decoder.padding_tokens
                    return
                index, tokens = ended
                self.stats["sequences"] += 1
                self.stats["generated_tokens"] += len(tokens)
                if progress is not None:
                    progress(1)
                yield index, tokenizer.decode(tokens, skip_special_tokens=False)

        return in_prompt_order(finished(), len(prompts), params.n)

    def _generate(self, tokenizer: Any, network: Any, prompts: list[str], params: SamplingParams) -> list[str]:
        import torch

        with torch.inference_mode():
            return self._generate_batch(tokenizer, network, prompts, params)

    def _generate_batch(self, tokenizer: Any, network: Any, prompts: list[str], params: SamplingParams) -> list[str]:
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(network.device)
        prompt_length = encoded["input_ids"].shape[1]
        budget = params.max_tokens - prompt_length
        if budget <= 0:
            return [""] * len(prompts)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p}
            if params.temperature > 0
            else {"do_sample": False}
        )
        output = network.generate(
            **encoded,
            max_new_tokens=budget,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            top_k=0,
            **sampling,
            **({"stop_strings": list(params.stop), "tokenizer": tokenizer} if params.stop else {}),
        )
        self.stats["sequences"] += len(prompts)
        self.stats["padding_tokens"] += int((encoded["attention_mask"] == 0).sum())
        return [self._decode(tokenizer, row[prompt_length:]) for row in output]

    def _decode(self, tokenizer: Any, tokens: Any) -> str:
        """The new tokens up to (not including) the first EOS, special tokens kept as text."""
        ids = tokens.tolist()
        if tokenizer.eos_token_id in ids:
            ids = ids[: ids.index(tokenizer.eos_token_id)]
        self.stats["generated_tokens"] += len(ids)
        return tokenizer.decode(ids, skip_special_tokens=False)
