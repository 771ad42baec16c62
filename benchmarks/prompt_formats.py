"""The raw and chat prompt formats on the same problems, in one run.

    python benchmarks/prompt_formats.py --data ../shared/data/mbpp [--model CHECKPOINT] [--problems 24]

For each format and temperature: the share of programs that pass, the share that fail before
reaching the tests' verdict with SyntaxError, IndentationError or NameError, the median completion
length, and tokens/s of sampling. Without --model, the embedded SmolLM2-135M-Instruct is prepared
once (LeTI's special tokens added) into ~/.cache/leti/benchmark-base.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sampler_throughput import prepare_base

#: Exceptions that mean the program never got to be judged by its tests.
UNEXECUTABLE = {"SyntaxError", "IndentationError", "NameError"}


def measure(
    registry, model: str, problems: list, prompt_format: str, temperature: float, n: int, max_tokens: int, seed: int
) -> dict:
    from leti_core import SamplingParams
    from leti_core.app import Scorer, apply_format, sample_and_score, stop_words

    task = registry.task("mbpp")
    sampler = registry.sampler("hf")
    shown, chosen = apply_format(
        problems, prompt_format, task.chat_request, lambda messages: sampler.render_chat(model, messages), model
    )
    environment = registry.environment("python")
    scorer = Scorer(environment, registry.feedback("traceback"))
    started = time.perf_counter()
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, stop=stop_words(chosen))
    scored = sample_and_score(sampler, scorer, model, shown, params, None)
    seconds = time.perf_counter() - started
    tokens = sampler.stats["generated_tokens"]
    sampler.close()
    environment.close()
    failed = [item.result.exception_type for item in scored if not item.result.passed]
    return {
        "format": chosen,
        "temperature": temperature,
        "samples": len(scored),
        "passed": sum(item.result.passed for item in scored) / len(scored),
        "unexecutable": sum(kind in UNEXECUTABLE for kind in failed) / len(scored),
        "median_chars": statistics.median(len(item.sample.completion) for item in scored),
        "tokens_per_s": tokens / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="mbpp.jsonl or its folder")
    parser.add_argument("--model", help="checkpoint folder [the embedded model, prepared once]")
    parser.add_argument("--problems", type=int, default=24, help="MBPP train problems")
    parser.add_argument("--samples", type=int, default=4, help="samples per problem")
    parser.add_argument("--max-tokens", type=int, default=384)
    parser.add_argument("--temperatures", default="1.0,0.7")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import os

    os.environ["LETI_MBPP_DATA"] = args.data
    from leti_core.app import get_registry

    registry = get_registry()
    model = args.model or str(prepare_base())
    problems = registry.task("mbpp").load("train")[: args.problems]
    print(
        f"{args.problems} MBPP train problems x {args.samples} samples, up to {args.max_tokens} tokens, seed {args.seed}"
    )
    print(
        f"{'format':7} {'T':>4} {'passed':>7} {'SyntaxError+Indentation+NameError':>34} {'median chars':>13} {'tok/s':>6}"
    )
    for temperature in (float(t) for t in args.temperatures.split(",")):
        for prompt_format in ("raw", "chat"):
            row = measure(
                registry, model, problems, prompt_format, temperature, args.samples, args.max_tokens, args.seed
            )
            print(
                f"{row['format']:7} {temperature:4.1f} {row['passed']:7.1%} {row['unexecutable']:34.1%} "
                f"{row['median_chars']:13.0f} {row['tokens_per_s']:6.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
