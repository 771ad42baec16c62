"""Does the model learn from textual feedback? The CPU recipe with textual and with binary feedback.

    python benchmarks/learning.py --data ../shared/data/mbpp [--out runs/learning] [--config configs/cpu-learning.toml]

Runs `leti run` twice with the same seed and samples budget (textual feedback, the default; then
`--feedback binary`), evaluates the starting model with two more seeds to measure the noise of
held-out pass@1, writes `leti report` of both runs into OUT/report, and prints for each iteration
of both runs pass@1, the training samples' exception-type shares and the share that reach their
tests; whether textual feedback reached binary's final pass@1 in fewer gradient steps; and whether
the two runs drew the same first-iteration samples (same seed, same model: they must).
Finished stages are kept: run it again to resume after an interruption.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leti_cli.reporting.runs import UNEXECUTABLE, RunData, read_run  # noqa: E402

NOISE_SEEDS = (1, 2)


def leti(*args: str) -> None:
    print("+ leti " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "leti_cli", *args], check=True)


def run(out: Path, config: Path, data: str, *extra: str) -> None:
    if (out / "config.json").is_file():
        leti("run", "--resume", str(out))
    else:
        leti("run", "--config", str(config), "--data", data, "--out", str(out), *extra)


def base_noise(textual: RunData) -> list[float]:
    """Post-processed pass@1 of the starting model under seed 0 (the run's) and the noise seeds."""
    config = textual.config
    scores = [item.pass_at_postprocessed["pass@1"] for item in textual.iterations if item.iteration == 0]
    for seed in NOISE_SEEDS:
        out = textual.path / "eval" / f"base-seed{seed}"
        if not (out / "summary.json").is_file():
            leti(
                "eval",
                "--run",
                str(textual.path),
                "--iteration",
                "0",
                "--condition",
                "none",
                "--seed",
                str(seed),
                "--problems",
                str(config.eval_problems),
                "--out",
                str(out),
            )
        summary = json.loads((out / "summary.json").read_text())
        scores.append(summary["postprocessed"]["pass_at"]["pass@1"])
    return scores


def first_reached(run: RunData, target: float) -> int | None:
    """The cumulative gradient steps at which ``run``'s post-processed pass@1 first reached ``target``."""
    for item in run.finished:
        if item.iteration > 0 and item.pass_at_postprocessed.get("pass@1", -1.0) >= target:
            return item.cumulative_steps
    return None


def same_first_samples(a: RunData, b: RunData) -> bool:
    def completions(run: RunData) -> list[str]:
        lines = (run.path / "iteration-1" / "samples.jsonl").read_text().splitlines()
        return [json.loads(line)["sample"]["completion"] for line in lines]

    return completions(a) == completions(b)


def table(run: RunData) -> None:
    print(f"\n{run.name} ({run.config.feedback} feedback)")
    print(
        f"{'iteration':>9} {'steps':>6} {'pass@1 post':>11} {'passed':>7} {'reach tests':>11}  "
        f"{'SyntaxError':>11} {'IndentationError':>16} {'NameError':>9}  other top exceptions"
    )
    for item in run.iterations:
        post = item.pass_at_postprocessed.get("pass@1", float("nan"))
        if not item.samples:
            print(f"{item.iteration:>9} {item.cumulative_steps:>6} {post:>11.3f}")
            continue
        others = ", ".join(
            f"{name} {item.share(name):.0%}" for name in item.exception_histogram if name not in UNEXECUTABLE
        )
        print(
            f"{item.iteration:>9} {item.cumulative_steps:>6} {post:>11.3f} {item.success_rate:>7.1%} "
            f"{item.executable_share:>11.1%}  {item.share('SyntaxError'):>11.1%} "
            f"{item.share('IndentationError'):>16.1%} {item.share('NameError'):>9.1%}  {others}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="mbpp.jsonl or its folder")
    parser.add_argument("--out", type=Path, default=Path("runs/learning"))
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cpu-learning.toml")
    args = parser.parse_args()

    run(args.out / "textual", args.config, args.data)
    run(args.out / "binary", args.config, args.data, "--feedback", "binary", "--no-eval-base")
    textual, binary = read_run(args.out / "textual"), read_run(args.out / "binary")
    noise = base_noise(textual)
    leti("report", str(textual.path), str(binary.path), "--out", str(args.out / "report"))

    table(textual)
    table(binary)
    spread = max(noise) - min(noise)
    print(
        f"\nstarting model, post-processed pass@1 over seeds 0,{','.join(map(str, NOISE_SEEDS))}: "
        f"{', '.join(f'{x:.3f}' for x in noise)} (mean {statistics.mean(noise):.3f}, spread {spread:.3f})"
    )
    final = binary.finished[-1].pass_at_postprocessed.get("pass@1", 0.0)
    textual_steps, binary_steps = first_reached(textual, final), first_reached(binary, final)
    print(
        f"binary's final post-processed pass@1 {final:.3f}: reached by binary at {binary_steps} steps, "
        f"by textual at {textual_steps if textual_steps is not None else 'no point'} steps"
    )
    sampled = textual.sampled
    fall = sampled[0].executable_share <= sampled[-1].executable_share
    print(
        f"textual: SyntaxError+IndentationError+NameError share {1 - sampled[0].executable_share:.1%} -> "
        f"{1 - sampled[-1].executable_share:.1%} ({'fell' if fall and len(sampled) > 1 else 'did not fall'})"
    )
    print(f"same seed, same first-iteration samples in both runs: {same_first_samples(textual, binary)}")
    print(f"report: {args.out / 'report' / 'report.md'}")


if __name__ == "__main__":
    main()
