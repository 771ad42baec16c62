"""The floor under CPU training time: the machine's bf16 matrix-product rate at a training step's
shapes, and what the matrix products of N training tokens cost at that rate.

A token costs at least 6 x (the parameters of the model's linear layers, LM head included) FLOPs in
matrix products (2 forward, 4 backward); attention scores come on top. Prints each shape's rate
(TFLOPS), the rate over a token's mix of shapes, and, for --tokens, the seconds those products take
at these rates: no
training on this machine can be faster. --trained-tokens-per-second gives the share of the rate
a measured training reaches.

    python benchmarks/matmul_rate.py --model RUN/base --tokens 319602 --trained-tokens-per-second 430
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def linear_shapes(config: dict) -> dict[str, tuple[int, int, int]]:
    """(inner, outer, how many in the model) of a Llama-shaped decoder's linear layers and LM head."""
    width, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    kv_width = config.get("num_key_value_heads", config["num_attention_heads"]) * width // config["num_attention_heads"]
    return {
        "query, output": (width, width, 2 * layers),
        "key, value": (width, kv_width, 2 * layers),
        "MLP gate, up": (width, inner, 2 * layers),
        "MLP down": (inner, width, layers),
        "LM head": (width, config["vocab_size"], 1),
    }


def rate(rows: int, inner: int, cols: int, dtype: torch.dtype, seconds: float = 2.0) -> float:
    """TFLOPS of (rows x inner) @ (inner x cols) in ``dtype``, repeated for about ``seconds``."""
    left, right = torch.randn(rows, inner).to(dtype), torch.randn(inner, cols).to(dtype)
    for _ in range(3):
        left @ right
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        left @ right
        done += 1
    return 2 * rows * inner * cols * done / (time.perf_counter() - start) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a checkpoint folder with config.json")
    parser.add_argument("--tokens", type=int, default=None, help="training tokens to price")
    parser.add_argument("--trained-tokens-per-second", type=float, default=None, help="a measured training's rate")
    parser.add_argument("--micro-batch-tokens", type=int, default=1920, help="rows of a micro-batch (4 x 480)")
    args = parser.parse_args()
    config = json.loads((args.model / "config.json").read_text(encoding="utf-8"))
    rows = args.micro_batch_tokens
    seconds_a_token, flops = 0.0, 0.0  # at each shape's own rate
    for name, (inner, outer, count) in linear_shapes(config).items():
        tflops = rate(rows, inner, outer, torch.bfloat16)
        print(f"{name:14s} ({rows} x {inner}) @ ({inner} x {outer}): {tflops:.3f} TFLOPS bf16")
        flops += 6 * inner * outer * count
        seconds_a_token += 6 * inner * outer * count / (tflops * 1e12)
    mean = flops / seconds_a_token / 1e12
    print(f"{flops / 1e9:.3f} GFLOP a token in matrix products; {mean:.3f} TFLOPS over a token's mix of shapes")
    if args.tokens:
        print(
            f"{args.tokens:,} tokens: {args.tokens * flops / 1e12:.0f} TFLOP, {args.tokens * seconds_a_token:.0f} s at these rates"
        )
    if args.trained_tokens_per_second:
        achieved = args.trained_tokens_per_second * flops / 1e12
        print(
            f"{args.trained_tokens_per_second:g} tokens/s is {achieved:.3f} TFLOPS: {achieved / mean:.0%} of that rate"
        )


if __name__ == "__main__":
    main()
