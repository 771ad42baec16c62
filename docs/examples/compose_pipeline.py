"""Compose a LeTI pipeline in Python: score samples, then run LeTI with a feedback formatter
defined right here (no plugin, no entry point).

    python docs/examples/compose_pipeline.py --data ../shared/data/mbpp [--model PATH] [--out runs/api]

Components are chosen by name from the registry (any installed plugin's) or passed as objects or
classes; either way they go through the same checks and write the same run folder as `leti run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from leti_core import ExecutionResult, Feedback, FeedbackFormatter, Options, Sample
from leti_core.app import Scorer, load_engine, prepare_run


class LastLine(FeedbackFormatter):
    """Only the last line of the error: a terser textual feedback than the whole traceback."""

    name = "last-line"

    class Options(Options):
        prefix: str = "Error: "

    def format(self, result: ExecutionResult) -> Feedback:
        if result.passed:
            return Feedback(reward="good")
        error = result.error
        text = f"{error.type}: {error.message}" if error else result.status
        return Feedback(reward="bad", text=self.options.prefix + text.strip().splitlines()[-1:][0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="MBPP file or folder")
    parser.add_argument("--model", default=None, help="hub id, folder or .gguf (default: embedded)")
    parser.add_argument("--out", type=Path, default=Path("runs/api"))
    parser.add_argument("--problems", type=int, default=4)
    args = parser.parse_args()

    engine = load_engine()
    registry = engine.registry

    # 1. Score two completions for one problem, with textual feedback.
    task = registry.task("mbpp", data=args.data)
    problems = {problem.task_id: problem for problem in task.load("test")}
    samples = [
        Sample(task_id=11, completion=problems["11"].reference),
        Sample(task_id=11, completion="def remove_Occ(s, ch):\n    return s.replace(ch, c)\n"),
    ]
    with registry.environment("python", timeout=5) as environment:
        for item in Scorer(environment, LastLine()).score(problems, samples):
            print(item.result.status, "|", item.feedback.text or "(no feedback)")

    # 2. One small LeTI iteration with that formatter: sample, execute, feedback, fine-tune, evaluate.
    values = {
        "data": args.data,
        "model": args.model,
        "iterations": 1,
        "problems": args.problems,
        "samples": 2,
        "max_tokens": 256,
        "batch_size": 8,
        "epochs": 1,
        "eval_problems": args.problems,
        "eval_samples": 2,
        "feedback_options": {"prefix": "Failed: "},
    }
    run = prepare_run(engine, args.out, values, components={"feedback": LastLine})
    with run.components:
        summaries = run.run()
    print(summaries[-1].model_dump_json(indent=2))


if __name__ == "__main__":
    main()
