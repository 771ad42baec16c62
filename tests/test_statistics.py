"""Intervals and paired tests against values computed independently, for fixed tables."""

from __future__ import annotations

import math
import random

import pytest

from leti_core import LetiError
from leti_core.app.statistics import across_seeds, compare, proportion, rate

Z = 1.959963984540054  # the 97.5% point of the standard normal


def _wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval, from its formula."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def test_wilson_interval_for_3_of_120():
    found = proportion(3, 120)
    low, high = _wilson(3, 120)
    assert found.method == "wilson" and found.estimate == 0.025
    assert found.low == pytest.approx(low, abs=1e-9) and found.high == pytest.approx(high, abs=1e-9)
    assert (round(found.low, 4), round(found.high, 4)) == (0.0085, 0.0709)


def test_clopper_pearson_contains_wilson_for_small_counts():
    exact, wilson = proportion(3, 120, method="exact"), proportion(3, 120)
    assert exact.low < wilson.low and exact.high > wilson.high  # exact is the more conservative
    assert proportion(0, 30, method="exact").low == 0.0


def test_one_sample_per_problem_is_a_proportion():
    outcomes = {str(i): [i < 3] for i in range(120)}
    assert rate(outcomes) == proportion(3, 120)


def test_exact_mcnemar_p_for_a_known_table():
    # 2x2 table over 40 problems: both pass 10, only A 1, only B 7, neither 22
    cells = [(True, True)] * 10 + [(True, False)] * 1 + [(False, True)] * 7 + [(False, False)] * 22
    a = {str(i): [x] for i, (x, _) in enumerate(cells)}
    b = {str(i): [y] for i, (_, y) in enumerate(cells)}
    found = compare(a, b)
    # two-sided exact binomial on the 8 discordant pairs: 2 * P(X <= 1), X ~ Bin(8, 1/2)
    expected = 2 * (math.comb(8, 0) + math.comb(8, 1)) / 2**8
    assert found.test == "exact McNemar" and (found.a_only, found.b_only) == (1, 7)
    assert found.p_value == pytest.approx(expected) == pytest.approx(0.0703125)
    assert found.difference.estimate == pytest.approx(6 / 40)


def test_bootstrap_agrees_with_the_analytic_interval_on_a_large_sample():
    draw = random.Random(7)
    outcomes = {str(i): [draw.random() < 0.3, draw.random() < 0.3] for i in range(3000)}
    found = rate(outcomes)
    means = [sum(v) / 2 for v in outcomes.values()]
    mean = sum(means) / len(means)
    sd = math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1))
    half = Z * sd / math.sqrt(len(means))
    assert found.method == "bootstrap" and found.estimate == pytest.approx(mean)
    assert found.low == pytest.approx(mean - half, abs=0.003) and found.high == pytest.approx(mean + half, abs=0.003)


def test_paired_permutation_with_several_samples_and_the_words():
    a = {str(i): [False, False, i % 5 == 0, False] for i in range(200)}
    b = {str(i): [True, i % 2 == 0, True, False] for i in range(200)}
    found = compare(a, b)
    assert found.test == "paired permutation" and found.p_value < 0.001
    assert found.difference.excludes(0.0) and found.difference.estimate > 0
    assert "B is higher than A" in found.words("pass@1", "A", "B")
    same = compare(a, a)
    assert same.p_value == 1.0 and not same.difference.excludes(0.0)
    assert same.words("pass@1", "A", "B").startswith("pass@1: no difference we can detect")


def test_pairs_only_the_problems_both_evaluated():
    a = {"1": [True], "2": [False], "3": [True]}
    b = {"2": [True], "3": [True], "4": [False]}
    found = compare(a, b)
    assert found.difference.problems == 2 and (found.a_only, found.b_only) == (0, 1)


def test_interval_over_seeds_is_students_t():
    # three seeds' paired differences; the t quantile for 2 degrees of freedom from a table
    values = [0.022, -0.032, -0.164]
    found = across_seeds(values)
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)
    assert found.estimate == pytest.approx(mean) and found.seeds == 3
    assert (found.low, found.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    t = mean / (sd / math.sqrt(3))
    # two-sided p of t with 2 degrees of freedom, in closed form: 1 - |t| / sqrt(2 + t^2)
    assert found.p_value == pytest.approx(1 - abs(t) / math.sqrt(2 + t * t))
    assert across_seeds([0.01, 0.01]).low == across_seeds([0.01, 0.01]).high == 0.01
    with pytest.raises(LetiError, match="two seeds"):
        across_seeds([0.1])
