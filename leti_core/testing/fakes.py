"""A sampler and a trainer without a model, for testing the other components in a real loop."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import Field

from ..components import Options, ProgressCallback, Sampler, Trainer


class FakeSampler(Sampler):
    """Answers every prompt with the given completions in turn, and records each call."""

    name = "fake"

    class Options(Options):
        completions: list[str] = Field(default_factory=lambda: ["    return None\n"],
                                       description="answers, used in turn for each sample of a prompt")

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


class FakeTrainer(Trainer):
    """Writes a stand-in checkpoint (a config.json naming its parent) and records the texts."""

    name = "fake"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.texts: list[list[str]] = []

    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "special_tokens": list(special_tokens)}))

    def train(self, model: str, texts: Sequence[str], output_dir: Path,
              progress: ProgressCallback | None = None) -> dict[str, float]:
        self.texts.append(list(texts))
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "texts": len(texts)}))
        return {"steps": 1.0, "tokens": float(sum(len(text) for text in texts))}
