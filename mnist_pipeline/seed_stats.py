"""Mean, spread and the paired SGD - Adam difference over seeds: is the difference real?

Paired, because seed N gives both optimizers the same validation split and the same batch
order: the per-seed difference cancels what a seed does to both. Its mean gets a 95 %
confidence interval from Student's t distribution with n - 1 degrees of freedom, the textbook
interval for the mean of a few measurements.
"""

import math
import statistics


def summary(values: list[float]) -> dict:
    """Mean, sample standard deviation, min and max of `values` (at least two)."""
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values),
        "min": min(values),
        "max": max(values),
    }


def paired_difference(first: list[float], second: list[float]) -> dict:
    """`second - first` seed by seed: its mean, std and 95 % confidence interval."""
    differences = [b - a for a, b in zip(first, second, strict=True)]
    n = len(differences)
    mean, std = statistics.mean(differences), statistics.stdev(differences)
    half_width = t_quantile(0.975, n - 1) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci95": [mean - half_width, mean + half_width], "n": n}


def verdict(difference: dict, what: str, first: str, second: str) -> str:
    """One sentence on what the paired difference of `what` (second - first) supports."""
    low, high = difference["ci95"]
    interval = f"95 % CI {low:+.4f} to {high:+.4f}, {difference['n']} seeds"
    if low > 0 or high < 0:
        higher = second if low > 0 else first
        return (
            f"{higher} reaches the higher {what}: {second} - {first} = "
            f"{difference['mean']:+.4f} ({interval}), larger than the seed-to-seed noise."
        )
    return (
        f"No difference shown: {second} - {first} {what} = {difference['mean']:+.4f} "
        f"({interval}); the interval includes 0, so these seeds cannot tell the two apart."
    )


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
