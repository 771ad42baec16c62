"""The unbiased pass@k estimator (Chen et al., 2021)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import PassAtK

DEFAULT_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n - c, k) / C(n, k): the chance that k of n samples include a correct one."""
    if not 0 <= c <= n:
        raise ValueError(f"correct count {c} is not within 0..{n}")
    if k > n:
        raise ValueError(f"k={k} exceeds the {n} samples")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def summarize(counts: Iterable[tuple[int, int]], ks: Sequence[int] = DEFAULT_KS) -> PassAtK:
    """pass@k averaged over problems, from ``(samples, correct)`` per problem.

    A k is reported only when every problem has at least k samples.
    """
    counts = list(counts)
    if not counts:
        return PassAtK(problems=0, samples=0, pass_at={})
    smallest = min(n for n, _ in counts)
    scores = {f"pass@{k}": sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in ks if k <= smallest}
    return PassAtK(problems=len(counts), samples=sum(n for n, _ in counts), pass_at=scores)
