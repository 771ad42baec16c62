"""A sampler and a trainer without a model, for testing the other components in a real loop."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, create_model

from ..components import Options, ProgressCallback, Sampler, Trainer


def _ignored(*names: str) -> dict[str, Any]:
    """Options a real component of the kind takes, accepted (and ignored) so a fake drops into any config."""
    return {name: (Any, Field(default=None, description="accepted and ignored")) for name in names}


class FakeSampler(Sampler):
    """Answers every prompt with the given completions in turn, and records each call."""

    name = "fake"

    class Options(Options):
        completions: list[str] = Field(default_factory=lambda: ["    return None\n"],
                                       description="answers, used in turn for each sample of a prompt")
        chat: bool = Field(default=False, description="the model has a chat template: <|user|>MESSAGE<|assistant|>")

    Options = create_model("FakeSamplerOptions", __base__=Options,
                           **_ignored("top_p", "max_tokens", "batch_size", "precision", "seed"))

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.calls: list[dict[str, object]] = []

    def sample(self, model: str, prompts: Sequence[str], n: int, temperature: float,
               progress: ProgressCallback | None = None) -> Iterator[list[str]]:
        self.calls.append({"model": model, "prompts": list(prompts), "n": n, "temperature": temperature})
        answers = self.options.completions
        for _ in prompts:
            if progress is not None:
                progress(n)
            yield [answers[i % len(answers)] for i in range(n)]

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        return [f"<|user|>{message}<|assistant|>" for message in messages] if self.options.chat else None


class FakeTrainer(Trainer):
    """Writes a stand-in checkpoint (a config.json naming its parent) and records the texts."""

    name = "fake"

    Options = create_model("FakeTrainerOptions", __base__=Options, **_ignored(
        "epochs", "learning_rate", "weight_decay", "batch_size", "micro_batch_size", "max_length", "pretrain_mix",
        "pretrain_corpus", "precision", "lora", "seed", "launcher"))

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.texts: list[list[str]] = []

    @staticmethod
    def default_model() -> str:
        """A stand-in name: the fake trainer needs no model."""
        return "fake-model"

    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "special_tokens": list(special_tokens)}))

    def train(self, model: str, texts: Sequence[str], output_dir: Path,
              progress: ProgressCallback | None = None) -> dict[str, float]:
        self.texts.append(list(texts))
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "texts": len(texts)}))
        return {"steps": 1.0, "tokens": float(sum(len(text) for text in texts))}
