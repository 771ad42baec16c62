"""Every installed sampler and compute type on the same prompts, in one run.

    python benchmarks/sampler_throughput.py --data ../shared/data/mbpp [--model CHECKPOINT] [--prompts 32]

For each configuration, in a fresh process (one at a time: torch and CTranslate2 take every core):
real tokens/s (generated up to EOS, no padding), samples/s, the peak resident memory of the timed sampling
call (the process's high-water mark, reset just before it), the ratio to
`hf` with transformers' `generate` at `leti run`'s batch and precision, and, greedy over the first
64 new tokens, the share of completions identical to `hf` with `generate` in fp32. Prompts are in
`leti run`'s format. Without --model, the embedded SmolLM2-135M-Instruct is prepared once (LeTI's
special tokens added) into ~/.cache/leti/benchmark-base.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path.home() / ".cache" / "leti" / "benchmark-base"
CONFIGS = [
    ("hf", {"decoding": "generate"}),  # the baseline: transformers' generate on fixed batches
    ("hf", {"decoding": "generate", "precision": "fp32"}),  # the reference of the greedy comparison
    ("hf", {}),  # leti run's default: continuous batching, precision auto (bf16 where the CPU has it)
    ("hf", {"precision": "fp32"}),
    ("hf", {"decoding": "library"}),  # transformers' own continuous batching (generate_batch's paged cache)
    ("hf", {"decoding": "library", "precision": "fp32"}),
    ("ct2", {"compute_type": "float32"}),
    ("ct2", {"compute_type": "int8_float32"}),
    ("ct2", {"compute_type": "int8"}),
]
ENGINES = {"ct2": "ctranslate2", "vllm": "vllm"}


def prepare_base() -> Path:
    from leti_core import SPECIAL_TOKENS
    from leti_core.app import get_registry

    if not (CACHE / "config.json").is_file():
        trainer = get_registry().trainer("hf")
        trainer.prepare(trainer.default_model(), SPECIAL_TOKENS, CACHE)
    return CACHE


def worker(spec: dict) -> dict:
    """Sample in this process; print what the parent compares."""
    from leti_core import SamplingParams
    from leti_core.app import get_registry, sample_problems
    from leti_core.prompts import apply_format

    registry = get_registry()
    task = registry.task("mbpp", data=spec["data"])
    problems = task.load("train")[: max(spec["prompts"], spec["greedy_prompts"])]
    # the hf sampler's model in this process, where the peak is measured
    here = {"process": "this"} if spec["sampler"] == "hf" else {}
    sampler = registry.sampler(spec["sampler"], **spec["options"], **here, batch_size=spec["batch_size"])
    problems, _ = apply_format(
        problems,
        spec["prompt_format"],
        task.chat_request,
        lambda messages: sampler.render_chat(spec["model"], messages),
        spec["model"],
        task.code_language,
    )
    params = SamplingParams(n=spec["n"], temperature=spec["temperature"], max_tokens=spec["max_tokens"])
    list(sample_problems(sampler, spec["model"], problems[:1], params.model_copy(update={"n": 1}), None))  # warm up
    sampler.stats.update({key: 0 for key in sampler.stats})
    measured = reset_peak_memory()
    started = time.perf_counter()
    samples = [
        s for group in sample_problems(sampler, spec["model"], problems[: spec["prompts"]], params, None) for s in group
    ]
    seconds = time.perf_counter() - started
    peak_mb = peak_memory_mb(measured)
    tokens = sampler.stats["generated_tokens"]
    greedy = [
        s.completion
        for group in sample_problems(
            sampler,
            spec["model"],
            problems[: spec["greedy_prompts"]],
            SamplingParams(temperature=0, max_tokens=spec["greedy_budget"]),
            None,
        )
        for s in group
    ]
    return {
        "seconds": seconds,
        "tokens": tokens,
        "samples": len(samples),
        "greedy": greedy,
        "peak_mb": peak_mb,
    }


def reset_peak_memory() -> bool:
    """Reset this process's resident high-water mark (Linux: /proc/self/clear_refs); whether it could."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_memory_mb(since_reset: bool) -> float:
    """The resident high-water mark since ``reset_peak_memory`` (else since the process started), in MB."""
    if since_reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_tokens(tokenizer, text: str, count: int = 64) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MBPP file or folder")
    parser.add_argument("--model", type=Path, default=None, help="a checkpoint folder [the embedded model]")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--samples", type=int, default=4, help="samples per prompt (the main example's)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=512, help="prompt + completion tokens (leti run's)")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences at once (leti run's)")
    parser.add_argument("--greedy-prompts", type=int, default=50, help="prompts compared at temperature 0")
    parser.add_argument(
        "--prompt-format",
        choices=["auto", "raw", "chat"],
        default="auto",
        help="as leti run's (auto: chat for a model with a chat template)",
    )
    parser.add_argument("--samplers", nargs="*", default=None, help="only these samplers [every installed one]")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    model = args.model or prepare_base()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    configs = [
        (name, options)
        for name, options in CONFIGS
        if (name not in ENGINES or importlib.util.find_spec(ENGINES[name]) is not None)
        and (args.samplers is None or name in args.samplers)
    ]
    print(
        f"{args.prompts} MBPP prompts ({args.prompt_format} format) x {args.samples}, T={args.temperature}, "
        f"budget {args.max_tokens} tokens, batch {args.batch_size}; greedy identity over 64 tokens on "
        f"{args.greedy_prompts} prompts; {model}"
    )
    results = {}
    for name, options in configs:
        spec = {
            "data": args.data,
            "model": str(model),
            "sampler": name,
            "options": options,
            "prompts": args.prompts,
            "n": args.samples,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "batch_size": args.batch_size,
            "greedy_prompts": args.greedy_prompts,
            "greedy_budget": 320,
            "prompt_format": args.prompt_format,
        }
        done = subprocess.run(
            [sys.executable, __file__, "--data", args.data, "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
        )
        label = f"{name} {' '.join(f'{k}={v}' for k, v in options.items()) or '(defaults)'}"
        if done.returncode != 0:
            print(f"{label}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
    baseline = results.get("hf decoding=generate")
    reference = results.get("hf decoding=generate precision=fp32")
    print(
        f"{'configuration':44} {'tok/s':>8} {'samples/s':>10} {'peak MB':>8} {'x generate':>10} "
        f"{'memory x gen.':>13} {'= generate fp32':>15}"
    )
    for label, result in results.items():
        rate = result["tokens"] / result["seconds"]
        ratio = rate / (baseline["tokens"] / baseline["seconds"]) if baseline else float("nan")
        memory = result["peak_mb"] / baseline["peak_mb"] if baseline else float("nan")
        same = (
            sum(
                first_tokens(tokenizer, a) == first_tokens(tokenizer, b)
                for a, b in zip(result["greedy"], reference["greedy"], strict=True)
            )
            / len(reference["greedy"])
            if reference
            else float("nan")
        )
        print(
            f"{label:44} {rate:8.1f} {result['samples'] / result['seconds']:10.2f} {result['peak_mb']:8.0f} "
            f"{ratio:10.2f} {memory:13.2f} {same:15.0%}"
        )


if __name__ == "__main__":
    main()
