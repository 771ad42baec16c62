"""The report's evidence: every rate with its 95% interval, and paired comparisons of evaluations
on the same problems (two runs at the same iteration, a run against its starting model), read
from the per-sample outcomes the run folders keep (each iteration's held-out and training
samples, found through ``RunFolder``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leti_core import RunFolder, ScoredSample, read_models
from leti_core.app.statistics import MEASURES, UNEXECUTABLE, Comparison, Outcomes, compare, outcomes, rate

from .runs import RunData


class Samples:
    """The runs' held-out and training samples, each file read once for a report (the interval
    tables and the comparisons use the same ones)."""

    def __init__(self) -> None:
        self._read: dict[Path, list[ScoredSample] | None] = {}

    def held_out(self, run_path: Path, iteration: int) -> list[ScoredSample] | None:
        """The held-out samples of an iteration (0: the starting model), cut at the stop words when
        they were scored so too; None when not evaluated."""
        files = RunFolder(run_path).iteration(iteration).held_out
        return self._samples(files.postprocessed if files.postprocessed.is_file() else files.scored)

    def training(self, run_path: Path, iteration: int) -> list[ScoredSample] | None:
        return self._samples(RunFolder(run_path).iteration(iteration).samples)

    def _samples(self, path: Path) -> list[ScoredSample] | None:
        if path not in self._read:
            self._read[path] = [row for _, row in read_models(path, ScoredSample)] if path.is_file() else None
        return self._read[path]


def _cell(values: Outcomes | None) -> str:
    if not values:
        return "-"
    interval = rate(values)
    return f"{interval.text(scale=100, digits=1)} % ({interval.problems} problems, {interval.method})"


def interval_rows(samples: Samples, run: RunData) -> list[list[str]]:
    """Per iteration: each held-out measure and the training samples' reach-their-tests share, with intervals."""
    rows = []
    for item in run.iterations:
        evaluated, trained = samples.held_out(run.path, item.iteration), samples.training(run.path, item.iteration)
        cells = [_cell(outcomes(evaluated, measure) if evaluated else None) for measure in MEASURES.values()]
        reach = outcomes(trained, lambda sample: sample.result.exception_type not in UNEXECUTABLE) if trained else None
        rows.append([str(item.iteration), *cells, _cell(reach)])
    return rows


def interval_headers() -> list[str]:
    return ["iteration", *(f"held-out {name}" for name in MEASURES), "training samples that reach their tests"]


def comparisons(samples: Samples, a: RunData, b: RunData) -> list[tuple[int, str, Comparison]]:
    """B against A at every iteration both evaluated, on the problems both evaluated."""
    found = []
    for item in a.iterations:
        if not any(other.iteration == item.iteration for other in b.iterations):
            continue
        first, second = samples.held_out(a.path, item.iteration), samples.held_out(b.path, item.iteration)
        if not first or not second:
            continue
        for name, measure in MEASURES.items():
            found.append((item.iteration, name, compare(outcomes(first, measure), outcomes(second, measure))))
    return found


def against_start(samples: Samples, run: RunData) -> list[tuple[int, str, Comparison]]:
    """Each evaluated iteration of a run against its starting model (iteration 0), problem by problem."""
    start = samples.held_out(run.path, 0)
    if not start:
        return []
    found = []
    for item in run.iterations:
        evaluated = samples.held_out(run.path, item.iteration) if item.iteration else None
        if evaluated:
            for name, measure in MEASURES.items():
                found.append((item.iteration, name, compare(outcomes(start, measure), outcomes(evaluated, measure))))
    return found


def comparison_rows(found: Sequence[tuple[int, str, Comparison]], a: str, b: str) -> list[list[str]]:
    return [
        [
            name,
            str(iteration),
            comparison.difference.text(scale=100, digits=1),
            f"{comparison.test}: p = {comparison.p_value:.3g}",
            comparison.words(name, a, b),
        ]
        for iteration, name, comparison in found
    ]


COMPARISON_HEADERS = ["measure", "iteration", "difference in points (95% CI)", "test", "in words"]
