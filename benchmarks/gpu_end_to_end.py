"""The GPU path end to end, for a machine with NVIDIA GPUs (vLLM, accelerate and, for ZeRO-3,
deepspeed installed: `pip install -e '.[vllm,deepspeed]'`):

    python benchmarks/gpu_end_to_end.py --data ../shared/data/mbpp [--model Qwen/Qwen2.5-0.5B] [--gpus 8]

1. A 2-iteration `leti run` sampled with vLLM: sampling tokens/s, stage minutes, pass@k.
2. One LeTI training iteration (the run's iteration-1 texts) on 1 GPU, then on N GPUs with FSDP and
   with DeepSpeed ZeRO-3 (configs/accelerate/): training tokens/s of each.
3. Each saved checkpoint reloaded and sampled with vLLM (`leti eval`), so a broken gathering save
   shows up as a failure here.
Every figure is printed; any failure ends the script with a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def leti(*args: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "leti_cli", *map(str, args)]
    print("$", " ".join(command[2:]), flush=True)
    done = subprocess.run(command, cwd=ROOT, text=True, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {done.stderr[-3000:]}")
    return done


def sampling_rate(run: Path, iteration: int, model: str) -> float:
    """Generated tokens per second of the iteration's training samples (sampling and execution overlap)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run / "base")
    rows = [json.loads(line) for line in (run / f"iteration-{iteration}" / "samples.jsonl").read_text().splitlines()]
    tokens = sum(len(tokenizer(row["sample"]["completion"], add_special_tokens=False)["input_ids"]) for row in rows)
    seconds = json.loads((run / f"iteration-{iteration}" / "summary.json").read_text())["seconds"]["sample+execute"]
    return tokens / seconds


def train(out: Path, run: Path, launcher: list[str]) -> dict:
    texts = run / "iteration-1" / "training.jsonl"
    rows = [json.loads(line) for line in texts.read_text().splitlines()]
    plain = out.with_suffix(".texts.jsonl")
    plain.write_text(
        "".join(
            json.dumps({"text": r["reward_token"] + r["feedback_block"] + r["prompt"] + r["completion"]}) + "\n"
            for r in rows
        )
    )
    metrics = out.with_suffix(".json")
    command = [
        *launcher,
        "-m",
        "leti_hf.launched",
        "--model",
        str(run / "base"),
        "--texts",
        str(plain),
        "--out",
        str(out),
        "--options",
        json.dumps({"epochs": 1, "precision": "bf16", "micro_batch_size": 4}),
        "--metrics",
        str(metrics),
    ]
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command, cwd=ROOT, text=True, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"training failed: {done.stderr[-3000:]}")
    return json.loads(metrics.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MBPP file or folder")
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B", help="a small hub model")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs for the sharded runs [all]")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu-end-to-end")
    args = parser.parse_args()
    import torch

    gpus = args.gpus or torch.cuda.device_count()
    if gpus < 1 or importlib.util.find_spec("vllm") is None:
        sys.exit("needs an NVIDIA GPU and vLLM (pip install -e '.[vllm]')")
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)

    run = args.out / "run"
    leti(
        "run",
        "--model",
        args.model,
        "--data",
        args.data,
        "--sampler",
        "vllm",
        "--iterations",
        2,
        "--problems",
        32,
        "--samples",
        16,
        "--epochs",
        1,
        "--batch-size",
        64,
        "--micro-batch-size",
        8,
        "--eval-problems",
        100,
        "--eval-samples",
        8,
        "--out",
        run,
    )
    for iteration in (1, 2):
        summary = json.loads((run / f"iteration-{iteration}" / "summary.json").read_text())
        minutes = {stage: round(seconds / 60, 2) for stage, seconds in summary["seconds"].items()}
        print(
            f"iteration {iteration}: sampling {sampling_rate(run, iteration, args.model):.0f} tokens/s; "
            f"pass@k {summary['postprocessed']['pass_at']}; loss {summary.get('training_loss')}; minutes {minutes}"
        )

    launchers = {"1 GPU": []}
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(gpus)]
    launchers[f"FSDP x {gpus}"] = [*accelerate, "--config_file", str(ROOT / "configs/accelerate/fsdp.yaml")]
    if importlib.util.find_spec("deepspeed") is not None:
        launchers[f"ZeRO-3 x {gpus}"] = [
            *accelerate,
            "--config_file",
            str(ROOT / "configs/accelerate/deepspeed-zero3.yaml"),
        ]
    else:
        print("deepspeed is not installed: ZeRO-3 skipped (pip install deepspeed)")
    for label, launcher in launchers.items():
        folder = args.out / label.replace(" ", "").replace("x", "-")
        metrics = train(folder, run, launcher or [sys.executable])
        reloaded = json.loads(
            leti(
                "eval",
                "--model",
                folder,
                "--data",
                args.data,
                "--problems",
                8,
                "--samples",
                4,
                "--sampler",
                "vllm",
                "--json",
            ).stdout
        )
        print(
            f"{label}: {metrics['tokens_per_second']:.0f} training tokens/s, loss {metrics['train_loss']:.4f}; "
            f"reloaded and sampled: pass@1 {reloaded['variants']['postprocessed'].get('pass@1')}"
        )


if __name__ == "__main__":
    main()
