"""Sampling and training throughput of the hf components, measured in one run.

Prints: sampling tokens/s batched vs one sequence at a time (and the ratio), training tokens/s,
the padding share of training batches, and peak memory. Uses the embedded default model unless
--model is given, and MBPP training prompts from --data (default ../shared/data/mbpp).

    python benchmarks/loop_throughput.py [--model PATH] [--data PATH] [--prompts 4] [--n 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from leti_core import SPECIAL_TOKENS, SamplingParams
from leti_core.app import get_registry

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def sample_rate(
    model: str, prompts: list[str], n: int, batch_size: int, max_tokens: int
) -> tuple[float, list[list[str]]]:
    sampler = get_registry().sampler("hf", batch_size=batch_size, process="this")  # measured here
    list(sampler.sample(model, prompts[:1], SamplingParams(max_tokens=max_tokens)))  # load and warm up
    sampler.stats["generated_tokens"] = 0
    started = time.perf_counter()
    groups = list(sampler.sample(model, prompts, SamplingParams(n=n, max_tokens=max_tokens)))
    elapsed = time.perf_counter() - started
    return sampler.stats["generated_tokens"] / elapsed, groups


def trl_defaults_rate(model: str, texts: list[str], output_dir: Path) -> float:
    """Training tokens/s of the same run with what trl does unless told otherwise."""
    from unittest import mock

    from leti_hf import trainer as trainer_module
    from leti_hf import training
    from trl import SFTTrainer

    trainer = get_registry().trainer(
        "hf", epochs=1, batch_size=8, micro_batch_size=4, max_length=512, gradient_checkpointing=True
    )

    def unsorted(*args: object) -> tuple[list[list[int]], list[str]]:
        order = trainer_module.alternate_batches(*args)
        return [seq for _, group in order for seq in group], [source for source, _ in order]

    with (
        mock.patch.object(training._InOrderTrainer, "compute_loss", SFTTrainer.compute_loss),
        mock.patch.object(training, "ordered_sequences", unsorted),
    ):
        metrics = trainer.train(model, texts, output_dir)
    return metrics["tokens"] / metrics["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mbpp"))
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--train-texts", type=int, default=32)
    parser.add_argument(
        "--compare-trl-defaults", action="store_true", help="also train with trl's defaults and print the ratio"
    )
    args = parser.parse_args()

    registry = get_registry()
    trainer = registry.trainer("hf", epochs=1, batch_size=8, micro_batch_size=4, max_length=512)
    problems = registry.task("mbpp", data=args.data).load("train")[: args.prompts]
    prompts = [problem.prompt for problem in problems]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        started = time.perf_counter()
        trainer.prepare(args.model or trainer.default_model(), SPECIAL_TOKENS, base)
        print(f"model prepared in {time.perf_counter() - started:.1f} s")

        batched, groups = sample_rate(str(base), prompts, args.n, batch_size=8, max_tokens=args.max_tokens)
        single, _ = sample_rate(str(base), prompts, args.n, batch_size=1, max_tokens=args.max_tokens)
        print(
            f"sampling: batched (8 sequences) {batched:.1f} tok/s, one at a time {single:.1f} tok/s, "
            f"ratio {batched / single:.2f}x"
        )

        completions = [c for group in groups for c in group]
        texts = [
            ("<|bad|>" + p + c) for p, c in zip((p for p in prompts for _ in range(args.n)), completions, strict=True)
        ]
        texts = (texts * (args.train_texts // max(1, len(texts)) + 1))[: args.train_texts]
        metrics = trainer.train(str(base), texts, Path(scratch) / "checkpoint")
        training = metrics["tokens"] / metrics["seconds"]
        print(
            f"training: {training:.1f} tok/s over {int(metrics['tokens'])} tokens "
            f"({int(metrics['steps'])} steps, feedback and code 1:1), padding share {metrics['padding_share']:.1%}"
        )
        if args.compare_trl_defaults:
            trl_rate = trl_defaults_rate(str(base), texts, Path(scratch) / "trl-defaults")
            print(
                f"training with trl's defaults (activation checkpointing, fused LM head, unsorted batches): "
                f"{trl_rate:.1f} tok/s; ours is {training / trl_rate:.2f}x"
            )
    print(f"peak memory (RSS): {peak_rss_gib():.2f} GiB")
    print(
        json.dumps(
            {
                "sampling_batched_tok_s": batched,
                "sampling_single_tok_s": single,
                "training_tok_s": training,
                "padding_share": metrics["padding_share"],
                "peak_rss_gib": peak_rss_gib(),
            }
        )
    )


if __name__ == "__main__":
    main()
