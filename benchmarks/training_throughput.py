"""Training tokens/s of the `hf` trainer on CPU: variants against a baseline, in one run.

    python benchmarks/training_throughput.py --texts runs/demo/iteration-1/training.jsonl \\
        --model runs/demo/base [--texts-limit 64] [--baseline-commit 781b632]

Each variant trains the same texts in the same order in a fresh process (one at a time: torch
takes every core). With --baseline-commit, the trainer of that commit (a git worktree of this
checkout) runs first, as the baseline; otherwise the first variant is. Prints tokens/s of the
whole training and of the steps after the first (which pays for warm-up and torch.compile's
compilation; each variant compiles into an empty cache), their ratios to the baseline (for the
steps after the first: to the first row that has that figure, which a commit's trainer may not
report), the first and last step's loss (same data and order: full fine-tuning variants should
match), the share of the CPU's bf16 peak that the step reached (6 x parameters x tokens/s
against --peak-tflops, which you measure or take from the CPU's data sheet), and tokens/s over
the whole `train` call (loading the model included, and the start of a training process of its
own where the trainer starts one).

With --iterations N, each variant trains N times, each in a fresh process, the way a run's
iterations do: the processes share one compile cache (empty for the first), so the table shows
the first iteration (cold cache) and the later ones apart, the rate over all N (compilation
included) against the baseline's, and each variant's peak resident memory (the largest process's
maximum RSS).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from baseline import checked_out

COMMON = {"epochs": 1, "batch_size": 32, "max_length": 512}
VARIANTS = {
    # the trainer as it was before it kept freed memory and took transformers' default optimizer
    "as before (AdamW unfused, freed memory returned)": {"optim": "adamw_torch", "keep_freed_memory": False},
    "default": {},
    "as 03568f1 (full logits, micro-batch 4, eager)": {"loss_chunk_tokens": 0, "micro_batch_size": 4, "compile": False},
    "eager": {"compile": False},
    "compiled": {"compile": True},
    "full logits": {"loss_chunk_tokens": 0},
    "loss chunks of 1024": {"loss_chunk_tokens": 1024},
    "loss chunks of 256": {"loss_chunk_tokens": 256},
    "loss chunks of 512": {"loss_chunk_tokens": 512},
    "activations kept": {"recompute_activations": False},
    "eager, micro-batch 4": {"compile": False, "micro_batch_size": 4},
    "eager, micro-batch 16": {"compile": False, "micro_batch_size": 16},
    "eager, micro-batch 2": {"compile": False, "micro_batch_size": 2},
    "compiled, micro-batch 2": {"compile": True, "micro_batch_size": 2},
    "eager, eager attention": {"compile": False, "attn_implementation": "eager"},
    "compiled, eager attention": {"compile": True, "attn_implementation": "eager"},
    "freed memory returned": {"keep_freed_memory": False},
    "AdamW unfused": {"optim": "adamw_torch"},
    "compiled, micro-batch 4": {"compile": True, "micro_batch_size": 4},
    "compiled, micro-batch 16": {"compile": True, "micro_batch_size": 16},
    "gradients in the first backward": {"gradients_first": False},
    "in process, the C library's malloc": {"allocator": "system"},
    "own process, tcmalloc": {"allocator": "tcmalloc"},
    "LoRA r16": {"lora": True, "lora_rank": 16},
    "micro-batch 8": {"micro_batch_size": 8},
    "LoRA r16, micro-batch 8": {"lora": True, "lora_rank": 16, "micro_batch_size": 8},
}

#: the baseline commit's trainer takes its own defaults (its micro-batch was 4, the shared default)
BASELINE: dict = {}

WORKER = """
import json, sys, time
sys.path[:0] = {paths}
texts = [json.loads(line) for line in open({texts!r})][:{limit}]
texts = [t["reward_token"] + t["feedback_block"] + t["prompt"] + t["completion"] if "prompt" in t else t["text"]
         for t in texts]
from leti_hf.trainer import HFTrainer
trainer = HFTrainer(**json.loads({options!r}))
start = time.perf_counter()
metrics = trainer.train({model!r}, texts, __import__("pathlib").Path({out!r}))
metrics["wall_seconds"] = time.perf_counter() - start  # loading included; a training process's start too
resource = __import__("resource")  # the largest process: this one, or the training process of its own
metrics["peak_rss"] = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) * 1024
print("METRICS " + json.dumps(metrics))
"""


def run(label: str, paths: list[str], options: dict, args: argparse.Namespace, scratch: Path) -> dict | None:
    """Train ``args.iterations`` times in fresh processes sharing one compile cache; the metrics of
    each iteration under "iterations", and over all of them."""
    slug = label.replace(" ", "_").replace("/", "_")
    cache = {"TORCHINDUCTOR_CACHE_DIR": str(scratch / ("inductor-" + slug))}
    iterations = []
    for iteration in range(args.iterations):
        code = WORKER.format(
            paths=paths,
            texts=str(args.texts),
            limit=args.texts_limit,
            options=json.dumps(options),
            model=str(args.model),
            out=str(scratch / f"{slug}-{iteration}"),
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=scratch, env={**os.environ, **cache}
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("METRICS ")]
        if done.returncode != 0 or not lines:
            print(f"{label}: failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            return None
        metrics = json.loads(lines[-1][len("METRICS ") :])
        metrics["rate"] = metrics["tokens"] / metrics.get("train_seconds", metrics["seconds"])
        metrics["steady"] = metrics.get("tokens_per_second_after_first_step", float("nan"))
        metrics["wall_rate"] = metrics["tokens"] / metrics.get("wall_seconds", float("nan"))
        iterations.append(metrics)
        print(f"{label}, iteration {iteration + 1}: {json.dumps(metrics)}", flush=True)
    first = iterations[0]
    seconds = sum(metrics.get("train_seconds", metrics["seconds"]) for metrics in iterations)
    later = iterations[1:]
    return first | {
        "iterations": iterations,
        "whole": sum(metrics["tokens"] for metrics in iterations) / seconds,
        "later": (
            sum(metrics["tokens"] for metrics in later) / sum(metrics["train_seconds"] for metrics in later)
            if later
            else float("nan")
        ),
        "peak_rss": max(metrics.get("peak_rss", 0) for metrics in iterations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=Path, required=True, help="an iteration's training.jsonl")
    parser.add_argument("--model", type=Path, required=True, help="a checkpoint folder (a run's base/)")
    parser.add_argument("--texts-limit", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=1, help="trainings per variant, sharing a compile cache")
    parser.add_argument("--baseline-commit", default=None, help="the trainer of this commit is the baseline")
    parser.add_argument("--parameters", type=float, default=135e6, help="model parameters, for the peak share")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the CPU's bf16 peak, for the peak share")
    parser.add_argument("--variants", default=";".join(VARIANTS), help="variant names separated by ; [all]")
    args = parser.parse_args()
    args.texts, args.model = args.texts.resolve(), args.model.resolve()  # the workers run in a scratch folder
    with tempfile.TemporaryDirectory(prefix="leti-train-bench-") as folder:
        scratch = Path(folder)
        rows = []
        if args.baseline_commit:
            with checked_out(args.baseline_commit) as tree:
                rows.append(
                    (
                        f"baseline {args.baseline_commit}",
                        run("baseline", [str(tree), str(tree / "plugins")], {**COMMON, **BASELINE}, args, scratch),
                    )
                )
        chosen = [name.strip() for name in args.variants.split(";")]
        unknown = [name for name in chosen if name not in VARIANTS]
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
        for label, options in ((name, VARIANTS[name]) for name in chosen):
            rows.append((label, run(label, [], {**COMMON, **options}, args, scratch)))
    report(rows, args)


def report(rows: list[tuple[str, dict | None]], args: argparse.Namespace) -> None:
    """One line per variant: whole-training and after-first-step rates and their ratios to the
    baseline's, losses, the share of the bf16 peak; with --iterations, the first iteration (cold
    cache), the later ones, the whole sequence and the peak resident memory."""
    base = next((metrics for _, metrics in rows if metrics), None)
    if base is None:
        return
    steady_base = next(
        (metrics["steady"] for _, metrics in rows if metrics and not math.isnan(metrics["steady"])), float("nan")
    )
    width = max([len("variant")] + [len(label) for label, _ in rows])
    print(
        f"{'variant':{width}} {'tokens/s':>9} {'x base':>7} {'after 1st step':>14} {'x base':>7} {'first loss':>11} "
        f"{'last loss':>10} {'peak':>6} {'later it.':>9} {'all it.':>8} {'x base':>7} {'peak GiB':>8} "
        f"{'wall tok/s':>10} {'x base':>7}"
    )
    for label, metrics in rows:
        if metrics is None:
            continue
        fastest = max(metrics["rate"], metrics["later"] if not math.isnan(metrics["later"]) else 0)
        peak = f"{6 * args.parameters * fastest / (args.peak_tflops * 1e12):6.1%}" if args.peak_tflops else "     -"
        print(
            f"{label:{width}} {metrics['rate']:9.1f} {metrics['rate'] / base['rate']:7.2f} "
            f"{metrics['steady']:14.1f} {metrics['steady'] / steady_base:7.2f} "
            f"{metrics['first_loss']:11.4f} {metrics['last_loss']:10.4f} {peak} "
            f"{metrics['later']:9.1f} {metrics['whole']:8.1f} {metrics['whole'] / base['whole']:7.2f} "
            f"{metrics['peak_rss'] / 2**30:8.2f} {metrics['wall_rate']:10.1f} {metrics['wall_rate'] / base['wall_rate']:7.2f}"
        )


if __name__ == "__main__":
    main()
