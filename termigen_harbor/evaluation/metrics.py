"""Benchmark metrics (pure functions): Average Pass@1 over runs and the unbiased pass@k.

A trial that errored (infrastructure, not the model) is not a failure: callers pass only
verified trials here and report errors apart, with the denominator.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k attempts drawn from n (c of them correct) is correct:
    1 - C(n-c, k) / C(n, k) (Chen et al., 2021), exact for integers."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mean_pass_at_k(outcomes: Mapping[str, Sequence[bool]], k: int) -> float | None:
    """pass@k averaged over tasks; tasks with fewer than k attempts are left out."""
    values = [pass_at_k(len(o), sum(o), k) for o in outcomes.values() if len(o) >= k]
    return sum(values) / len(values) if values else None


def average_pass_at_1(runs: Sequence[Mapping[str, bool]]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1) of each run's pass rate over its tasks."""
    rates = [sum(run.values()) / len(run) for run in runs if run]
    if not rates:
        raise ValueError("no run has any task")
    return statistics.mean(rates), (statistics.stdev(rates) if len(rates) > 1 else None)


def paired_bootstrap(differences: Sequence[float], resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of paired per-task differences and its percentile bootstrap interval over tasks:
    the tasks are resampled with replacement (seeded, so a report is reproducible)."""
    import random

    if not differences:
        raise ValueError("no paired tasks to compare")
    rng = random.Random(seed)
    n = len(differences)
    means = sorted(sum(rng.choice(differences) for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    return statistics.mean(differences), means[int(tail * resamples)], means[min(resamples - 1, int((1 - tail) * resamples))]
