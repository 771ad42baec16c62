"""The forging suite's forges against an earlier commit's environment and sandbox, in one run.

    python benchmarks/forges_against_commit.py --baseline-commit 6342484 [--sandbox-option bwrap=off]
        [--env javascript --suite contrib/leti-humaneval-x/tests/test_forging.py:JavaScriptForges]

The baseline commit is checked out in a temporary git worktree. A fresh process of each tree runs
every forge of the suite (by default ``leti_core.testing.PythonForges``; the suite's code is taken
from this tree, so both face the same programs) and the honest completion through that tree's
environment on the `local` sandbox, and the table says which forges passed where. A forge that
passes is a forged verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from baseline import ROOT, checked_out, run_worker

WORKER = """
import importlib.util, json, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
forging = load("forging", {forging!r})
import leti_core.testing
leti_core.testing.ForgingSuite = forging.ForgingSuite  # an older tree has none: the suites import it
suite = getattr(load("suite", {suite_file!r}), {suite_class!r})
from leti_core.app import get_registry
names = ["honest", *[name for name in forging.FORGES if name in suite.forges and name != "kill-the-judge"]]
completions = [suite.honest if name == "honest" else suite.forges[name] for name in names]
with get_registry().environment({env!r}, sandbox_options={options!r}) as environment:
    results = environment.execute([suite.problem] * len(names), completions)
print("RESULT " + json.dumps({{name: result.status for name, result in zip(names, results)}}))
"""


def measure(tree: Path, options: dict, env_name: str, suite: str) -> dict:
    suite_file, suite_class = suite.rsplit(":", 1)
    return run_worker(
        tree,
        WORKER.format(
            forging=str(ROOT / "leti_core" / "testing" / "forging.py"),
            options=options,
            env=env_name,
            suite_file=str(ROOT / suite_file),
            suite_class=suite_class,
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", required=True)
    parser.add_argument("--sandbox-option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--env", default="python", help="the environment the forges run in")
    parser.add_argument(
        "--suite",
        default="leti_core/testing/forging.py:PythonForges",
        help="FILE:CLASS of this tree with the forges, in the environment's language",
    )
    args = parser.parse_args()
    options = dict(option.split("=", 1) for option in args.sandbox_option)
    with checked_out(args.baseline_commit) as tree:
        baseline, current = (measure(source, options, args.env, args.suite) for source in (tree, ROOT))
    print(f"{'forge':20} {'baseline ' + args.baseline_commit:>18} {'this tree':>12}")
    for name in baseline:
        print(f"{name:20} {baseline[name]:>18} {current[name]:>12}")
    forged = {
        label: [name for name, status in statuses.items() if name != "honest" and status == "passed"]
        for label, statuses in (("baseline", baseline), ("this tree", current))
    }
    for label, names in forged.items():
        print(f"forged passes, {label}: {len(names)}{': ' + ', '.join(names) if names else ''}")


if __name__ == "__main__":
    main()
