"""Verdicts do not depend on load: MBPP's 974 reference solutions at the default limit, on a quiet
machine and while other processes keep every core busy, in one run.

    python benchmarks/verdicts_under_load.py --data ../shared/data/mbpp [--burners 2]

Prints, for each condition: programs passed, timed out (and by which limit), wall seconds.
With the paper's 5 s as wall-clock time, task 123's reference (about 3 s of CPU) timed out under
load; as CPU time, every reference passes in both conditions.
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


def score(data: str, workers: int) -> tuple[Counter, float]:
    registry = get_registry()
    problems = {problem.task_id: problem for problem in registry.task("mbpp", data=data).load("all")}
    samples = [Sample(task_id=key, completion=problem.reference or "") for key, problem in problems.items()]
    started = time.monotonic()
    with registry.environment("python", sandbox_options={"workers": workers}) as environment:
        scored = Scorer(environment, registry.feedback("traceback")).score(problems, samples)
    outcome = Counter(item.result.status if item.result.status != "timed out" else f"timed out ({item.result.limit})"
                      for item in scored)
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
    finally:
        for burner in burners:
            burner.kill()
    for label, outcome, seconds in (("quiet", quiet, quiet_seconds),
                                    (f"{args.burners} busy processes", loaded, loaded_seconds)):
        print(f"{label:20} {dict(outcome)}  {seconds:.0f} s wall")
    total = sum(loaded.values())
    print(f"under load: {loaded['passed']} of {total} reference solutions pass "
          f"({'all' if loaded['passed'] == total else 'NOT all'}); wall time x{loaded_seconds / quiet_seconds:.2f}")


if __name__ == "__main__":
    main()
