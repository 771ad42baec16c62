"""Intervals and paired tests for per-problem outcomes, computed with scipy.stats.

An evaluation is, for each problem, the outcomes of its samples (passed, or ended with a
NameError, ...). With one sample per problem the problems are independent trials: a Wilson (or
Clopper-Pearson) interval. With several, the samples of one problem are not independent, so the
interval comes from a bootstrap over problems. Two evaluations on the same problems are compared
pair by pair: the mean difference with a paired bootstrap interval, and an exact McNemar test
(one sample per problem) or a paired permutation test (several).

Runs repeated with other seeds differ in more than their problems: their training went another
way. What a method does, beyond the trainings at hand, is judged over seeds: the mean of the
seeds' figures with a t interval (``across_seeds``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from ..errors import LetiError
from ..models import Interval, ScoredSample
from .scoring import usable

LEVEL = 0.95
RESAMPLES = 9999
Outcomes = Mapping[str, Sequence[bool]]  # problem -> the outcome of each of its samples


#: The error types that stop a Python program before its tests run: the primary measure of
#: whether feedback taught (their tracebacks name the fix).
UNEXECUTABLE = ("SyntaxError", "IndentationError", "NameError")
UNEXECUTABLE_SHARE = "stopped by " + " / ".join(UNEXECUTABLE)
Measure = Callable[[ScoredSample], bool]
#: What is counted per sample, with an interval, in summaries and reports: pass@1, the primary
#: measure, and its two parts (a NameError's traceback names the missing name; a syntax error's
#: is often the token budget cutting a program that repeats itself).
MEASURES: dict[str, Measure] = {
    "pass@1": lambda item: item.result.passed,
    UNEXECUTABLE_SHARE: lambda item: item.result.exception_type in UNEXECUTABLE,
    "stopped by NameError": lambda item: item.result.exception_type == "NameError",
    "stopped by SyntaxError / IndentationError": lambda item: (
        item.result.exception_type in ("SyntaxError", "IndentationError")
    ),
}


def outcomes(scored: Sequence[ScoredSample], measure: Measure) -> dict[str, list[bool]]:
    """Per problem, the measure of each sample the sandbox could run."""
    found: dict[str, list[bool]] = {}
    for item in usable(scored):
        found.setdefault(item.sample.key, []).append(bool(measure(item)))
    return found


def intervals(scored: Sequence[ScoredSample]) -> dict[str, Interval]:
    """Each measure's rate over ``scored`` with its 95% interval (none when nothing was run)."""
    found = {}
    for name, measure in MEASURES.items():
        values = outcomes(scored, measure)
        if values:
            found[name] = rate(values)
    return found


class Comparison(BaseModel):
    """B against A on the problems both evaluated: B's mean minus A's, and a test of no difference."""

    difference: Interval
    test: Literal["exact McNemar", "paired permutation"]
    p_value: float
    a_only: int = Field(default=0, description="McNemar: problems A passed and B did not")
    b_only: int = Field(default=0, description="McNemar: problems B passed and A did not")

    def words(self, what: str, a: str, b: str) -> str:
        """What the comparison says, never calling a difference whose interval holds zero a change."""
        points = self.difference.text(scale=100, digits=1)
        if not self.difference.excludes(0.0):
            return (
                f"{what}: no difference we can detect between {b} and {a} ({b} - {a}: {points} points, "
                f"{self.test} p = {self.p_value:.3g})"
            )
        direction = "higher" if self.difference.estimate > 0 else "lower"
        return (
            f"{what}: {b} is {direction} than {a} by {abs(self.difference.estimate) * 100:.1f} points "
            f"({b} - {a}: {points}, {self.test} p = {self.p_value:.3g}); the interval excludes zero"
        )


def _stats():
    try:
        from scipy import stats
    except ImportError:
        raise LetiError("intervals need scipy: pip install scipy") from None
    return stats


def proportion(successes: int, trials: int, method: Literal["wilson", "exact"] = "wilson") -> Interval:
    """``successes`` of ``trials`` independent trials, with a Wilson or Clopper-Pearson (exact) interval."""
    if trials <= 0:
        raise LetiError("an interval needs at least one trial")
    found = _stats().binomtest(successes, trials).proportion_ci(confidence_level=LEVEL, method=method)
    return Interval(
        estimate=successes / trials,
        low=float(found.low),
        high=float(found.high),
        method=method,
        problems=trials,
        samples=trials,
    )


def _means(outcomes: Outcomes, problems: Sequence[str]) -> list[float]:
    return [sum(outcomes[problem]) / len(outcomes[problem]) for problem in problems]


def rate(outcomes: Outcomes, seed: int = 0) -> Interval:
    """The mean over problems of each problem's share of true outcomes (pass@1 for "passed")."""
    problems = [problem for problem, values in outcomes.items() if len(values)]
    if not problems:
        raise LetiError("an interval needs at least one problem with samples")
    samples = sum(len(outcomes[problem]) for problem in problems)
    if samples == len(problems):
        return proportion(sum(bool(outcomes[problem][0]) for problem in problems), len(problems))
    means = _means(outcomes, problems)
    estimate = sum(means) / len(means)
    if len(set(means)) == 1:  # nothing varies: the bootstrap has no spread to find
        return Interval(
            estimate=estimate, low=estimate, high=estimate, method="bootstrap", problems=len(problems), samples=samples
        )
    import numpy as np

    found = _stats().bootstrap(
        (np.asarray(means),),
        np.mean,
        confidence_level=LEVEL,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return Interval(
        estimate=estimate,
        low=float(found.confidence_interval.low),
        high=float(found.confidence_interval.high),
        method="bootstrap",
        problems=len(problems),
        samples=samples,
    )


def compare(a: Outcomes, b: Outcomes, seed: int = 0) -> Comparison:
    """B against A, problem by problem, on the problems both have samples for."""
    import numpy as np

    problems = sorted(problem for problem in set(a) & set(b) if len(a[problem]) and len(b[problem]))
    if not problems:
        raise LetiError("the two evaluations share no problem: nothing to pair")
    xa, xb = np.asarray(_means(a, problems)), np.asarray(_means(b, problems))
    stats = _stats()
    samples = sum(len(a[problem]) + len(b[problem]) for problem in problems)
    differences = xb - xa
    estimate = float(differences.mean())
    if len(set(differences.tolist())) == 1:
        difference = Interval(
            estimate=estimate, low=estimate, high=estimate, method="bootstrap", problems=len(problems), samples=samples
        )
    else:
        found = stats.bootstrap(
            (xa, xb),
            lambda x, y, axis=-1: np.mean(y - x, axis=axis),
            paired=True,
            confidence_level=LEVEL,
            n_resamples=RESAMPLES,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        difference = Interval(
            estimate=estimate,
            low=float(found.confidence_interval.low),
            high=float(found.confidence_interval.high),
            method="bootstrap",
            problems=len(problems),
            samples=samples,
        )
    single = all(len(a[problem]) == 1 and len(b[problem]) == 1 for problem in problems)
    if single:
        a_only = int(((xa == 1) & (xb == 0)).sum())
        b_only = int(((xa == 0) & (xb == 1)).sum())
        p_value = 1.0 if a_only + b_only == 0 else float(stats.binomtest(b_only, a_only + b_only, 0.5).pvalue)
        return Comparison(difference=difference, test="exact McNemar", p_value=p_value, a_only=a_only, b_only=b_only)
    if not differences.any():
        return Comparison(difference=difference, test="paired permutation", p_value=1.0)
    found = stats.permutation_test(
        (xa, xb),
        lambda x, y, axis=-1: np.mean(y - x, axis=axis),
        permutation_type="samples",
        n_resamples=RESAMPLES,
        rng=np.random.default_rng(seed),
    )
    return Comparison(difference=difference, test="paired permutation", p_value=float(found.pvalue))


class AcrossSeeds(BaseModel):
    """The mean of one figure over independent seeds, with a t interval and a one-sample t test of
    zero: the spread from one training run to another, which per-problem intervals leave out."""

    estimate: float
    low: float
    high: float
    seeds: int
    p_value: float = Field(description="one-sample t test of a mean of zero (meaningful for differences)")


def across_seeds(values: Sequence[float]) -> AcrossSeeds:
    """The mean of ``values`` (one per seed) with its t interval (n - 1 degrees of freedom)."""
    if len(values) < 2:
        raise LetiError("an interval over seeds needs at least two seeds")
    import numpy as np

    data = np.asarray(values, dtype=float)
    estimate = float(data.mean())
    if np.ptp(data) == 0:  # no spread: the t statistic is undefined
        return AcrossSeeds(
            estimate=estimate, low=estimate, high=estimate, seeds=len(data), p_value=1.0 if estimate == 0 else 0.0
        )
    found = _stats().ttest_1samp(data, 0.0)
    interval = found.confidence_interval(confidence_level=LEVEL)
    return AcrossSeeds(
        estimate=estimate,
        low=float(interval.low),
        high=float(interval.high),
        seeds=len(data),
        p_value=float(found.pvalue),
    )
