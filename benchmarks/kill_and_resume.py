"""Kill -9 at random moments during sampling and training, resume, and compare with an uninterrupted run.

    python benchmarks/kill_and_resume.py --data ../shared/data/mbpp [--trials 10] [--out /tmp/kill-resume]

A small random model is built here (no download). One run goes through uninterrupted; then each
trial starts the same run (same seed), kills its whole process group with SIGKILL at a random
moment of its sampling stage (even trials) or of its training (odd trials), and resumes it with
`leti run --resume` until it finishes. For each trial it prints where the kill landed, how many
saved samples the resumed stage found and did not sample again, whether the training samples are
identical to the uninterrupted run's (completions, verdicts and feedback), and the largest
difference between the two final checkpoints' weights.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN = [
    "--problems",
    "16",
    "--samples",
    "4",
    "--save-every",
    "8",
    "--max-tokens",
    "128",
    "--temperature",
    "1.0",
    "--epochs",
    "3",
    "--batch-size",
    "2",
    "--micro-batch-size",
    "2",
    "--no-pretrain-mix",
    "--trainer-option",
    "save_steps=5",
    "--eval-problems",
    "2",
    "--eval-samples",
    "2",
    "--seed",
    "7",
]


def build_model(folder: Path, data: str) -> Path:
    from tests.tiny_model import build_tiny_model

    if not (folder / "config.json").is_file():
        mbpp = Path(data) / "mbpp.jsonl" if Path(data).is_dir() else Path(data)
        records = [json.loads(line) for line in mbpp.read_text().splitlines()[:300]]
        build_tiny_model(folder, [r["text"] + "\n" + r["code"] for r in records], hidden_size=256, heads=4)
    return folder


def command(model: Path, data: str, out: Path, precision: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "leti_cli",
        "run",
        "--model",
        str(model),
        "--data",
        data,
        *RUN,
        "--precision",
        precision,
        "--out",
        str(out),
    ]


def start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)


def phase(out: Path) -> str:
    iteration = out / "iteration-1"
    if (iteration / "summary.json").is_file():
        return "done"
    if (iteration / "checkpoint").is_dir():
        return "evaluation"
    if (iteration / "samples.jsonl").is_file():
        return "training"
    return "sampling" if (out / "base").is_dir() else "preparing"


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def samples(out: Path) -> list[dict]:
    """The training samples: completions, verdicts and feedback (not how long each program took)."""
    rows = [json.loads(line) for line in (out / "iteration-1" / "samples.jsonl").read_text().splitlines()]
    for row in rows:
        row["result"].pop("duration")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="mbpp.jsonl or its folder")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("/tmp/kill-resume"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--precision", default="fp32", help="fp32 (bit-reproducible on CPU) or bf16 / auto")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = build_model(args.out / "model", args.data)
    reference, control = (
        args.out / f"uninterrupted-{args.precision}",
        args.out / f"uninterrupted-again-{args.precision}",
    )
    for folder in (reference, control):  # the second: what this machine reproduces with no kill at all
        if not (folder / "iteration-1" / "summary.json").is_file():
            subprocess.run(["rm", "-rf", str(folder)], check=True)
            subprocess.run(
                command(model, args.data, folder, args.precision),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    seconds = json.loads((reference / "iteration-1" / "summary.json").read_text())["seconds"]
    print(
        f"uninterrupted ({args.precision}): sampling {seconds['sample+execute']:.1f} s, training {seconds['train']:.1f} s"
    )
    expected, expected_weights = samples(reference), weights(reference / "iteration-1" / "checkpoint")
    again = weights(control / "iteration-1" / "checkpoint")
    print(
        f"a second uninterrupted run: samples identical: {samples(control) == expected}; max weight difference "
        f"{max((again[n].float() - expected_weights[n].float()).abs().max().item() for n in again):.2e}"
    )
    rng = random.Random(args.seed)
    same_all, worst_all = True, 0.0
    for trial in range(args.trials):
        out, log = args.out / f"trial-{trial}", args.out / f"trial-{trial}.log"
        target = "sampling" if trial % 2 == 0 else "training"
        for stale in (out, log):
            subprocess.run(["rm", "-rf", str(stale)], check=True)
        process = start(command(model, args.data, out, args.precision), log)
        while phase(out) != target and process.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.9) * seconds["sample+execute" if target == "sampling" else "train"])
        landed = phase(out)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        partial = out / "iteration-1" / "samples.partial.jsonl"
        saved_lines = len(partial.read_text().splitlines()) if partial.is_file() else 0
        states = sorted(p.name for p in (out / "iteration-1" / "checkpoint.resume").glob("checkpoint-*"))
        resumes = 0
        while phase(out) != "done":
            resumes += 1
            done = subprocess.run(
                [sys.executable, "-m", "leti_cli", "run", "--resume", str(out)], capture_output=True, text=True
            )
            log.open("a").write(done.stdout + done.stderr)
            if done.returncode != 0 or resumes > 3:
                raise SystemExit(f"trial {trial}: resume failed:\n{done.stderr[-2000:]}")
        found = re.search(r"resumes after (\d+) saved samples", log.read_text())
        same = samples(out) == expected
        final = weights(out / "iteration-1" / "checkpoint")
        worst = max((final[name].float() - expected_weights[name].float()).abs().max().item() for name in final)
        same_all, worst_all = same_all and same, max(worst_all, worst)
        print(
            f"trial {trial}: killed during {landed:<9} saved samples {saved_lines:>2}, resumed after "
            f"{found.group(1) if found else 0:>2}; training states {states or '-'}; samples identical: {same}; "
            f"max weight difference {worst:.2e}"
        )
    print(f"{args.trials} kills: samples identical in all: {same_all}; largest weight difference {worst_all:.2e}")


if __name__ == "__main__":
    main()
