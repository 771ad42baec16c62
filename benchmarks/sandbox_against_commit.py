"""An environment's throughput in the `local` sandbox against an earlier commit's, in one run.

    python benchmarks/sandbox_against_commit.py --baseline-commit 6b607a1 [--env python|javascript|cpp]
        [--data FOLDER] [--rounds 3]

The baseline commit is checked out in a temporary git worktree. In alternating rounds (baseline,
this tree, baseline, ...; so that drift in the machine's speed hits both), a fresh process of
each runs the reference programs of the environment's task (python: MBPP's 974; javascript and
cpp: HumanEval-X's 164) through the environment with two workers, and prints programs/s; the
summary is each side's best round and their ratio. Both use a fresh LeTI cache folder: the first
round of a tree builds what it caches (C++ judges), later rounds find it there.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from baseline import ROOT, checked_out, run_worker

WORKER = """
import json, sys, time
from leti_core.app import get_registry
registry = get_registry()
task = registry.task({task!r}, data={data!r})
problems = task.load("all")
with registry.environment({env!r}, sandbox_options={{"workers": 2}}) as environment:
    environment.execute(problems[:4], [p.reference for p in problems[:4]])  # start the executors
    started = time.perf_counter()
    results = environment.execute(problems, [p.reference for p in problems])
    seconds = time.perf_counter() - started
print("RESULT " + json.dumps({{"rate": len(problems) / seconds, "passed": sum(r.passed for r in results)}}))
"""


TASKS = {
    "python": ("mbpp", "mbpp"),
    "javascript": ("humaneval-js", "humaneval-x"),
    "cpp": ("humaneval-cpp", "humaneval-x"),
}


def measure(tree: Path, env: str, data: str) -> dict:
    return run_worker(tree, WORKER.format(env=env, task=TASKS[env][0], data=data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", required=True)
    parser.add_argument("--env", choices=sorted(TASKS), default="python")
    parser.add_argument("--data", help="the task's data folder [../shared/data/mbpp or ../shared/data/humaneval-x]")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = args.data or str(ROOT.parent / "shared" / "data" / TASKS[args.env][1])
    with tempfile.TemporaryDirectory(prefix="leti-cache-") as cache, checked_out(args.baseline_commit) as tree:
        os.environ["LETI_CACHE"] = cache
        rates: dict[str, list[float]] = {"baseline": [], "this tree": []}
        for round_number in range(1, args.rounds + 1):
            for label, source in (("baseline", tree), ("this tree", ROOT)):
                result = measure(source, args.env, data)
                rates[label].append(result["rate"])
                print(
                    f"round {round_number}: {label:9} {result['rate']:7.1f} programs/s ({result['passed']} passed)",
                    flush=True,
                )
    best = {label: max(values) for label, values in rates.items()}
    print(
        f"best: baseline {best['baseline']:.1f}, this tree {best['this tree']:.1f} programs/s: "
        f"{best['this tree'] / best['baseline']:.3f}x (round-to-round spread of the baseline: "
        f"{(max(rates['baseline']) - min(rates['baseline'])) / best['baseline']:.1%})"
    )


if __name__ == "__main__":
    main()
