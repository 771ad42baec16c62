"""What a sampling call asks of any sampler: the same parameters whatever the engine."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .seeding import stream_seed


class SamplingParams(BaseModel):
    """One call's sampling parameters, shared by every sampler (as vLLM's ``SamplingParams`` are per
    request); how the engine runs (dtype, device, threads, batch size) stays in each sampler's
    ``Options``. A sampler that cannot honour one says so before any work (``Sampler.check``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(default=1, ge=1, description="completions per prompt")
    temperature: float = Field(default=1.0, ge=0, description="0: greedy")
    top_p: float = Field(default=1.0, gt=0, le=1, description="nucleus sampling: keep this share of probability")
    max_tokens: int = Field(default=512, ge=8, description="prompt + completion tokens")
    seed: int = Field(default=0, description="seed of the sampling")
    stop: tuple[str, ...] = Field(
        default=(),
        description="strings at whose first occurrence a completion may end "
        "(what follows the first one is never used); each completion ends on its own",
    )
    stream: int | None = Field(
        default=None,
        description="the random stream of ``seed`` this call draws from: the "
        "same prompts, model and stream give the same completions however a stage was split "
        "into calls (what resuming a stage relies on); None: ``seed`` itself",
    )

    @property
    def random_seed(self) -> int:
        """The seed this call's randomness starts from."""
        return self.seed if self.stream is None else stream_seed(self.seed, self.stream)


def sampling_field(name: str) -> Any:
    """``SamplingParams``' field ``name`` (default, bounds, description), for a model that holds the
    same value (the run's config)."""
    return SamplingParams.model_fields[name]
