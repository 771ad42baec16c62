from math import comb

import pytest

from leti_core.app import estimate_pass_at_k as pass_at_k
from leti_core.app import summarize


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (2, 1, 1, 0.5),
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 0, 1, 0.0),
        (10, 10, 10, 1.0),
        (4, 1, 3, 1 - 1 / 4),  # 1 - C(3,3)/C(4,3)
        (4, 2, 3, 1.0),  # n - c < k: every draw of 3 holds a correct one
        (16, 3, 10, 1 - comb(13, 10) / comb(16, 10)),
    ],
)
def test_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_agrees_with_the_binomial_formula_everywhere():
    for n in range(1, 25):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_summary_averages_over_problems_and_skips_k_above_n():
    summary = summarize([(2, 1), (2, 2), (2, 0)], ks=(1, 10))
    assert summary.pass_at == {"pass@1": pytest.approx((0.5 + 1 + 0) / 3)}
    assert (summary.problems, summary.samples) == (3, 6)


def test_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
