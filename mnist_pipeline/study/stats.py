"""The study's statistics: spread over seeds, the paired difference with its confidence
intervals and equivalence test, and the expected best score of a random search.

Paired, because rerun seed s gives every arm the same validation split, initial weights and
batch order: the per-seed difference cancels what a seed does to both. Intervals come from
Student's t with n - 1 degrees of freedom, the textbook interval for the mean of a few
measurements; no statistics library is needed for it.
"""

import functools
import math
import statistics


def summary(values: list[float]) -> dict:
    """Mean, sample standard deviation, min and max of `values` (at least two)."""
    return {
        "mean": statistics.mean(values),
        "sd": statistics.stdev(values),
        "min": min(values),
        "max": max(values),
    }


def paired_difference(first: list[float], second: list[float], margin: float) -> dict:
    """`second - first` seed by seed: mean, sd, 95 % CI, and the equivalence test (TOST) at
    level 0.05 against +-`margin`.

    TOST rejects both "difference <= -margin" and "difference >= +margin" exactly when the
    90 % CI lies inside (-margin, +margin), so that interval is the whole test.
    """
    differences = [b - a for a, b in zip(first, second, strict=True)]
    n = len(differences)
    mean, sd = statistics.mean(differences), statistics.stdev(differences)
    error = sd / math.sqrt(n)
    ci95 = [mean - t_quantile(0.975, n - 1) * error, mean + t_quantile(0.975, n - 1) * error]
    ci90 = [mean - t_quantile(0.95, n - 1) * error, mean + t_quantile(0.95, n - 1) * error]
    return {
        "mean": mean,
        "sd": sd,
        "n": n,
        "ci95": ci95,
        "ci90": ci90,
        "margin": margin,
        "equivalent": -margin < ci90[0] and ci90[1] < margin,
    }


def verdict(d: dict, metric: str, arm: str, reference: str, higher_is_better: bool) -> str:
    """One sentence on what the paired difference `d` (arm - reference) of `metric` supports,
    and nothing more."""
    low, high = d["ci95"]
    interval = f"95 % CI {low:+.4f} to {high:+.4f}, {d['n']} paired seeds"
    difference = f"{arm} - {reference} {metric} = {d['mean']:+.4f} ({interval})"
    margin = f"±{d['margin']:g}"
    if low > 0 or high < 0:
        better = arm if (d["mean"] > 0) == higher_is_better else reference
        if d["equivalent"]:
            size = f"but by less than the margin {margin}: equivalent for practical purposes"
        elif low > d["margin"] or high < -d["margin"]:
            size = f"by more than the margin {margin}"
        else:
            size = f"whether by more than the margin {margin}, these seeds cannot tell"
        return f"{better} is better on {metric}, {size}: {difference}."
    if d["equivalent"]:
        return (
            f"Equivalent within {margin}: {difference}; the 90 % CI "
            f"{d['ci90'][0]:+.4f} to {d['ci90'][1]:+.4f} lies inside the margin."
        )
    return (
        f"Not resolved: {difference}; no difference is shown, and equivalence within {margin} "
        "is not shown either: more seeds are needed to tell."
    )


def expected_best(scores: list[float], trials: int) -> float:
    """The expected maximum of `trials` draws, with replacement, from `scores` (Dodge et al.
    2019): with v(1) <= ... <= v(N), sum of v(i) * ((i/N)^k - ((i-1)/N)^k)."""
    ordered, n = sorted(scores), len(scores)
    return sum(v * ((i / n) ** trials - ((i - 1) / n) ** trials) for i, v in enumerate(ordered, 1))


@functools.cache
def t_quantile(p: float, df: int) -> float:
    """The p-quantile (p > 0.5) of Student's t distribution with `df` degrees of freedom.

    Bisection on the distribution function, which is 1/2 plus the integral of the density from
    0 (Simpson's rule): plenty for a confidence interval, without a statistics library.
    """
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if t_cdf(middle, df) < p else (low, middle)
    return (low + high) / 2


def t_cdf(x: float, df: int, steps: int = 2000) -> float:
    """P(T <= x) for x >= 0."""
    scale = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    density = lambda t: scale * (1 + t * t / df) ** (-(df + 1) / 2)  # noqa: E731
    h = x / steps
    odd = sum(density((2 * i - 1) * h) for i in range(1, steps // 2 + 1))
    even = sum(density(2 * i * h) for i in range(1, steps // 2))
    return 0.5 + h / 3 * (density(0) + 4 * odd + 2 * even + density(x))
