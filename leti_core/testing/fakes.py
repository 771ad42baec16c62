"""A sampler and a trainer without a model, for testing the other components in a real loop."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import Field

from ..components import ProgressCallback, Sampler, Trainer
from ..sampling import SamplingParams
from ..shared_options import SamplerOptions, TrainerOptions


class FakeSampler(Sampler):
    """Answers every prompt with the given completions in turn, and records each call."""

    name = "fake"

    class Options(SamplerOptions):
        completions: list[str] = Field(
            default_factory=lambda: ["    return None\n"],
            description="answers, used in turn for each sample of a prompt",
        )
        chat: bool = Field(default=False, description="the model has a chat template: <|user|>MESSAGE<|assistant|>")

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.calls: list[dict[str, object]] = []

    def sample(
        self, model: str, prompts: Sequence[str], params: SamplingParams, progress: ProgressCallback | None = None
    ) -> Iterator[list[str]]:
        self.calls.append(
            {
                "model": model,
                "prompts": list(prompts),
                "n": params.n,
                "temperature": params.temperature,
                "params": params,
            }
        )
        answers = self.options.completions
        for _ in prompts:
            if progress is not None:
                progress(params.n)
            yield [answers[i % len(answers)] for i in range(params.n)]

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        return [f"<|user|>{message}<|assistant|>" for message in messages] if self.options.chat else None


class FakeTrainer(Trainer):
    """Writes a stand-in checkpoint (a config.json naming its parent) and records the texts."""

    name = "fake"

    class Options(TrainerOptions):
        """The shared trainer options, accepted and recorded (``self.options``), not acted on."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.texts: list[list[str]] = []

    @classmethod
    def default_model(cls) -> str:
        """A stand-in name: the fake trainer needs no model."""
        return "fake-model"

    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "special_tokens": list(special_tokens)}))

    def train(
        self,
        model: str,
        texts: Sequence[str],
        output_dir: Path,
        progress: ProgressCallback | None = None,
        log_dir: Path | None = None,
    ) -> dict[str, float]:
        self.texts.append(list(texts))
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "texts": len(texts)}))
        return {"steps": 1.0, "tokens": float(sum(len(text) for text in texts))}
