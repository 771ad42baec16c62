"""What the `hf` trainer runs in a process of its own (under a launcher, or with tcmalloc
preloaded): one training pass in each launched process.

    accelerate launch --num_processes 8 -m leti_hf.launched --model M --texts T.jsonl --out C \
        --options '{"epochs": 3}' --metrics metrics.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from leti_core import LetiError, iter_json_lines, write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leti_hf.launched")
    parser.add_argument("--model", required=True, help="checkpoint folder to start from")
    parser.add_argument("--texts", required=True, type=Path, help='JSONL of {"text": ...}')
    parser.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    parser.add_argument("--options", default="{}", help="JSON object of the hf trainer's options")
    parser.add_argument("--metrics", type=Path, help="write the training metrics here (rank 0)")
    parser.add_argument("--log-dir", type=Path, help="TensorBoard folder for the per-step logs")
    parser.add_argument("--progress", type=Path, help="append the training's progress here, a JSON line a call")
    args = parser.parse_args(argv)
    from .progress_relay import ProgressWriter
    from .trainer import HFTrainer

    try:
        trainer = HFTrainer(**json.loads(args.options))
        texts = [row["text"] for _, row in iter_json_lines(args.texts)]
        progress = ProgressWriter(args.progress) if args.progress else None
        metrics = trainer.train(args.model, texts, args.out, progress=progress, log_dir=args.log_dir)
    except LetiError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the caller reports it
        return 130
    if args.metrics is not None:
        write_json(args.metrics, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
