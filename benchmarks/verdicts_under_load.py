"""Verdicts do not depend on load: MBPP's 974 reference solutions at the default limit, on a quiet
machine and while other processes keep every core busy, in one run.

    python benchmarks/verdicts_under_load.py --data ../shared/data/mbpp [--burners 2]

Prints, for each condition: programs passed, timed out (and by which limit), wall seconds; the
last condition is the limit as it was (5 s of wall-clock time), for comparison. Task 123's
reference needs 2-4 s of CPU depending on the VM's speed: as wall-clock time, a slow or loaded
machine times it out; as CPU time, it passes whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter

from leti_core import Sample
from leti_core.app import Scorer, get_registry


def score(data: str, workers: int, wall_timeout: float | None = None) -> tuple[Counter, float]:
    registry = get_registry()
    problems = {problem.task_id: problem for problem in registry.task("mbpp", data=data).load("all")}
    samples = [Sample(task_id=key, completion=problem.reference or "") for key, problem in problems.items()]
    started = time.monotonic()
    options = {"wall_timeout": wall_timeout} if wall_timeout else {}
    with registry.environment("python", sandbox_options={"workers": workers}, **options) as environment:
        scored = Scorer(environment, registry.feedback("traceback")).score(problems, samples)
    outcome = Counter(
        item.result.status if item.result.status != "timed out" else f"timed out ({item.result.limit})"
        for item in scored
    )
    return outcome, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MBPP file or folder")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="busy processes for the load")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    quiet, quiet_seconds = score(args.data, args.workers)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
    try:
        loaded, loaded_seconds = score(args.data, args.workers)
        # the limit as it was: the paper's 5 s as wall-clock time (CPU limit and wall limit both 5 s)
        wall, wall_seconds = score(args.data, args.workers, wall_timeout=5.0)
    finally:
        for burner in burners:
            burner.kill()
    for label, outcome, seconds in (
        ("quiet, CPU limit", quiet, quiet_seconds),
        (f"{args.burners} busy, CPU limit", loaded, loaded_seconds),
        (f"{args.burners} busy, 5 s wall", wall, wall_seconds),
    ):
        print(f"{label:24} {dict(outcome)}  {seconds:.0f} s wall")
    total = sum(loaded.values())
    print(
        f"under load: {loaded['passed']} of {total} reference solutions pass "
        f"({'all' if loaded['passed'] == total else 'NOT all'}); wall time x{loaded_seconds / quiet_seconds:.2f}"
    )


if __name__ == "__main__":
    main()
