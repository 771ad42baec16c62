"""Does textual feedback teach? The textual and the binary arm of a recipe, seed by seed, with intervals.

    python benchmarks/learning.py --data ../shared/data/mbpp --seeds 0 1 2 \\
        [--config configs/cpu-learning.toml] [--model MODEL] [--out runs/learning] \\
        [--results benchmarks/results/learning-cpu.json] [--commit] [-- more `leti run` flags]
    python benchmarks/learning.py --markdown [--results FILE]   # the README's tables, from the file

For each seed, `leti run` runs the recipe with textual feedback (OUT/seed-S/textual), then with
binary feedback starting from the textual arm's start (`--start-from`: the same starting model,
iteration-0 evaluation and first-iteration samples, so the arms differ only in the feedback they
train on). Interrupted, it resumes: finished runs and stages are kept, and a seed already in the
results file is not run again.

After each seed it writes the results file (with --commit, commits it at once, so a lost machine
loses at most the seed under way): per seed and iteration, each arm's held-out rates with 95%
intervals (pass@1 and the share stopped by SyntaxError / IndentationError / NameError, the primary
measure) and per-problem outcomes (what pooling needs, so a later session pools without this one's
run folders), the training samples' shares, and the paired comparison of the arms and of each arm
against the starting model. Once every seed is in, the pooled comparison pairs problems over all
seeds (a problem's outcomes in every seed are its samples: the trainings held fixed), and each
figure's mean over the seeds gets a t interval (the trainings as a sample: what the method does).
Nothing depends on the model or the machine: any --model, any config, a GPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leti_core import RunFolder, ScoredSample, read_models, write_json  # noqa: E402
from leti_core.app.statistics import (  # noqa: E402
    MEASURES,
    UNEXECUTABLE_SHARE,
    across_seeds,
    compare,
    outcomes,
    rate,
)

ARMS = ("textual", "binary")
PRIMARY = UNEXECUTABLE_SHARE


def leti(*args: str) -> None:
    print("+ leti " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "leti_cli", *args], check=True)


def run_arm(folder: Path, common: list[str], *extra: str) -> None:
    """Run (or resume) one arm to its last iteration."""
    if (folder / "config.json").is_file():
        leti("run", "--resume", str(folder))
    else:
        leti("run", *common, *extra, "--out", str(folder))


def held_out(folder: Path, iteration: int) -> list[ScoredSample]:
    """An iteration's held-out samples (cut at the stop words when they were scored so too)."""
    files = RunFolder(folder).iteration(iteration).held_out
    path = files.postprocessed if files.postprocessed.is_file() else files.scored
    return [row for _, row in read_models(path, ScoredSample)]


def training(folder: Path, iteration: int) -> list[ScoredSample]:
    path = RunFolder(folder).iteration(iteration).samples
    return [row for _, row in read_models(path, ScoredSample)] if path.is_file() else []


def iterations(folder: Path) -> list[int]:
    return [item.number for item in RunFolder(folder).iterations() if item.finished]


def rates(scored: list[ScoredSample]) -> dict[str, Any]:
    return {name: rate(outcomes(scored, measure)).model_dump() for name, measure in MEASURES.items()}


def packed(scored: list[ScoredSample]) -> dict[str, dict[str, str]]:
    """Each measure's per-problem outcomes as "0"/"1" strings (a sample each): what pooling the seeds
    needs, kept in the results file, since a later session may not have this one's run folders."""
    return {
        name: {problem: "".join("1" if value else "0" for value in values) for problem, values in found.items()}
        for name, found in ((name, outcomes(scored, measure)) for name, measure in MEASURES.items())
    }


def unpacked(row: dict[str, str]) -> dict[str, list[bool]]:
    return {problem: [flag == "1" for flag in flags] for problem, flags in row.items()}


def seed_results(seed_folder: Path) -> dict[str, Any]:
    """One seed: per iteration, each arm's rates and the paired comparisons."""
    found: dict[str, Any] = {"iterations": {}, "seconds": {}}
    shared = sorted(set(iterations(seed_folder / "textual")) & set(iterations(seed_folder / "binary")))
    for arm in ARMS:
        summaries = RunFolder(seed_folder / arm).summaries()
        found["seconds"][arm] = sum(sum(summary.seconds.values()) for summary in summaries)
    for number in shared:
        row: dict[str, Any] = {}
        samples = {arm: held_out(seed_folder / arm, number) for arm in ARMS}
        for arm in ARMS:
            row[arm] = {"held_out": rates(samples[arm]), "outcomes": packed(samples[arm])}
            trained = training(seed_folder / arm, number)
            if trained:
                row[arm]["training"] = rates(trained)
            if number > 0 and 0 in shared:
                start = held_out(seed_folder / arm, 0)
                row[arm]["against start"] = {
                    name: compare(outcomes(start, measure), outcomes(samples[arm], measure)).model_dump()
                    for name, measure in MEASURES.items()
                }
        if number > 0:
            row["textual against binary"] = {
                name: compare(outcomes(samples["binary"], measure), outcomes(samples["textual"], measure)).model_dump()
                for name, measure in MEASURES.items()
            }
        found["iterations"][str(number)] = row
    return found


def measures_in(tables: list[dict[str, Any]]) -> list[str]:
    """The measures every seed's every iteration has (a file written before a measure was added
    lacks it until --rescore)."""
    return [
        name
        for name in MEASURES
        if all(name in row[arm]["held_out"] for table in tables for row in table.values() for arm in ARMS)
    ]


def pooled(results: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Every seed together, from the results file's outcomes: a problem's outcome in each seed is one
    of its samples (each arm against the start pairs a seed's samples with that seed's start)."""
    tables = [results["seeds"][str(seed)]["iterations"] for seed in seeds]
    common = set.intersection(*(set(table) for table in tables))
    names = measures_in(tables)

    def together(number: str, arm: str) -> dict[str, dict[str, list[bool]]]:
        found: dict[str, dict[str, list[bool]]] = {name: {} for name in names}
        for table in tables:
            for name in names:
                for problem, values in unpacked(table[number][arm]["outcomes"][name]).items():
                    found[name].setdefault(problem, []).extend(values)
        return found

    start = together("0", "textual") if "0" in common else None
    found: dict[str, Any] = {}
    for number in sorted(common, key=int):
        arms = {arm: together(number, arm) for arm in ARMS}
        row: dict[str, Any] = {
            arm: {"held_out": {name: rate(arms[arm][name]).model_dump() for name in names}} for arm in ARMS
        }
        if int(number) > 0:
            row["textual against binary"] = {
                name: compare(arms["binary"][name], arms["textual"][name]).model_dump() for name in names
            }
            if start is not None:
                for arm in ARMS:
                    row[arm]["against start"] = {
                        name: compare(start[name], arms[arm][name]).model_dump() for name in names
                    }
        found[number] = row
    return found


def over_seeds(results: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Per iteration, each figure's mean over the seeds with a t interval: how much the method's
    effect varies from one training run to another (the pooled intervals hold the trainings fixed)."""
    tables = [results["seeds"][str(seed)]["iterations"] for seed in seeds]
    common = set.intersection(*(set(table) for table in tables))
    names = measures_in(tables)

    def mean(figures: list[dict[str, Any]]) -> dict[str, Any]:
        """Each measure's mean over the seeds' ``figures`` (rates or paired differences)."""
        return {
            name: across_seeds(
                [figure[name].get("difference", figure[name])["estimate"] for figure in figures]
            ).model_dump()
            for name in names
        }

    found: dict[str, Any] = {}
    for number in sorted(common, key=int):
        rows = [table[number] for table in tables]
        row: dict[str, Any] = {arm: {"held_out": mean([seed[arm]["held_out"] for seed in rows])} for arm in ARMS}
        if int(number) > 0:
            row["textual against binary"] = mean([seed["textual against binary"] for seed in rows])
            for arm in ARMS:
                if all("against start" in seed[arm] for seed in rows):
                    row[arm]["against start"] = mean([seed[arm]["against start"] for seed in rows])
        found[number] = row
    return found


def commit(path: Path, message: str) -> None:
    subprocess.run(["git", "-C", str(ROOT), "add", str(path)], check=True)
    subprocess.run(["git", "-C", str(ROOT), "commit", "-q", "-m", message, "--", str(path)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the task's data (MBPP: mbpp.jsonl or its folder); needed to run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cpu-learning.toml")
    parser.add_argument("--model", default=None, help="the starting model [the config's]")
    parser.add_argument("--out", type=Path, default=Path("runs/learning"))
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "learning-cpu.json")
    parser.add_argument("--commit", action="store_true", help="commit the results file after each seed")
    parser.add_argument(
        "--markdown", action="store_true", help="print the results file's tables in Markdown (runs nothing)"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="recompute the figures of seeds already in the results file from their run folders "
        "(after the measures changed); their wall time is kept",
    )
    args, extra = parser.parse_known_args()
    extra = [arg for arg in extra if arg != "--"]
    if args.markdown:
        print(markdown(read_results(args.results)))
        return
    if not args.data:
        parser.error("--data is needed to run the recipe")

    results: dict[str, Any] = read_results(args.results) if args.results.is_file() else {}
    results["design"] = {
        "config": str(
            args.config.resolve().relative_to(ROOT) if args.config.resolve().is_relative_to(ROOT) else args.config
        ),
        "model": args.model,
        "extra flags": extra,
        "seeds": args.seeds,
        "primary measure": f"held-out share {PRIMARY}",
        "secondary measure": "held-out pass@1",
    }
    results.setdefault("seeds", {})
    common = [
        "--config",
        str(args.config),
        "--data",
        args.data,
        *(["--model", args.model] if args.model else []),
        *extra,
    ]
    for seed in args.seeds:
        folder = args.out / f"seed-{seed}"
        if str(seed) in results["seeds"]:
            if args.rescore and all((folder / arm / "config.json").is_file() for arm in ARMS):
                kept = results["seeds"][str(seed)]["wall seconds"]
                results["seeds"][str(seed)] = {**seed_results(folder), "wall seconds": kept}
                write_json(args.results, results)
                print(f"seed {seed}: rescored from {folder}", flush=True)
            else:
                print(f"seed {seed}: in {args.results} already", flush=True)
            continue
        started = time.monotonic()
        run_arm(folder / "textual", common, "--seed", str(seed))
        run_arm(
            folder / "binary",
            common,
            "--seed",
            str(seed),
            "--feedback",
            "binary",
            "--start-from",
            str(folder / "textual"),
        )
        results["seeds"][str(seed)] = {**seed_results(folder), "wall seconds": time.monotonic() - started}
        write_json(args.results, results)
        if args.commit:
            commit(args.results, f"Learning benchmark: seed {seed} of {args.config.name}")
    done = [seed for seed in args.seeds if str(seed) in results["seeds"]]
    if len(done) == len(args.seeds):
        results["pooled"] = pooled(results, done)
        if len(done) > 1:
            results["over seeds"] = over_seeds(results, done)
        results["compute seconds"] = sum(sum(results["seeds"][str(seed)]["seconds"].values()) for seed in done)
        write_json(args.results, results)
        if args.commit:
            commit(args.results, f"Learning benchmark: pooled over seeds {done}")
    print(markdown(results))


def read_results(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path}: not a results file of this benchmark ({error})") from None
    if not isinstance(found, dict) or not isinstance(found.get("seeds", {}), dict):
        raise SystemExit(f"{path}: not a results file of this benchmark (no 'seeds' table)")
    return found


def markdown(results: dict[str, Any]) -> str:
    """The README's tables: first every measure's mean over the seeds (t intervals), then for each
    measure, per seed, pooled and over seeds, per iteration: each arm's held-out share (% with 95%
    intervals) and the paired differences (textual - binary, each arm against the starting model)
    with their tests."""
    seeds = [data["iterations"] for _, data in sorted(results.get("seeds", {}).items())]
    # the primary measure first, pass@1 last
    names = sorted(measures_in(seeds) if seeds else [], key=lambda name: (name != PRIMARY, name == "pass@1"))
    header = "| textual | binary | textual - binary | textual - start | binary - start |"
    out = []
    if "over seeds" in results:
        out += [
            f"Mean of the {len(seeds)} seeds with a t interval over seeds, % (95% CI):",
            "",
            "| held-out measure | iteration " + header,
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name in names:
            out += _rows(name, results["over seeds"], name)
        out.append("")
    tables = [(f"seed {seed}", data["iterations"]) for seed, data in sorted(results.get("seeds", {}).items())]
    if "pooled" in results:
        tables.append(("pooled", results["pooled"]))
    if "over seeds" in results:
        tables.append(("mean of seeds (t)", results["over seeds"]))
    for name in names:
        out += [f"Held-out {name}, % (95% CI):", "", "| seeds | iteration " + header]
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for label, table in tables:
            out += _rows(label, table, name)
        out.append("")
    seconds = results.get("compute seconds")
    if seconds:
        out.append(f"Compute: {seconds / 3600:.1f} hours of stage time over {len(results['seeds'])} seeds.")
    return "\n".join(out)


def _rows(label: str, table: dict[str, Any], name: str) -> list[str]:
    """One table's rows of measure ``name``, iteration by iteration."""

    def cell(interval: dict[str, Any]) -> str:
        return f"{interval['estimate'] * 100:.1f} ({interval['low'] * 100:.1f} to {interval['high'] * 100:.1f})"

    def difference(compared: dict[str, Any] | None) -> str:
        if not compared:
            return ""
        shown = compared.get("difference", compared)  # a paired comparison, or a mean over seeds
        return (
            f"{shown['estimate'] * 100:+.1f} ({shown['low'] * 100:+.1f} to {shown['high'] * 100:+.1f}), "
            f"p = {compared['p_value']:.2g}"
        )

    rows = []
    for number, row in sorted(table.items(), key=lambda item: int(item[0])):
        if int(number) == 0:
            rows.append(f"| {label} | 0 (start) | {cell(row['textual']['held_out'][name])} | same | | | |")
            continue
        against = [difference(row[arm].get("against start", {}).get(name)) for arm in ARMS]
        rows.append(
            f"| {label} | {number} | {cell(row['textual']['held_out'][name])} | "
            f"{cell(row['binary']['held_out'][name])} | "
            f"{difference(row.get('textual against binary', {}).get(name))} | {' | '.join(against)} |"
        )
    return rows


if __name__ == "__main__":
    main()
