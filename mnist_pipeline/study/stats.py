"""The study's statistics: spread over seeds, the paired difference with its confidence
intervals and equivalence test, Holm's correction over a problem's difference claims, and the
expected best score of a random search with its bootstrap band.

Paired, because rerun seed s gives every arm the same validation split, initial weights and
batch order: the per-seed difference cancels what a seed does to both. Intervals and p-values
are Student's t with n - 1 degrees of freedom (scipy.stats), the textbook test for the mean of a
few measurements. They count the seeds as the sample; the test images are one fixed set, so an
interval says how far the seeds carry on these 10,000 images, not on new ones.
"""

import math
import statistics

import numpy as np
import scipy.stats

# The level of every test: 95 % intervals, and 5 % for the family of a problem's claims.
ALPHA = 0.05
# Resamples of each bootstrap band, drawn from a fixed seed so the report's bytes repeat.
RESAMPLES = 9999
BOOTSTRAP_SEED = 0


def summary(values: list[float]) -> dict:
    """Mean, sample standard deviation, min and max of `values` (at least two)."""
    return {
        "mean": statistics.mean(values),
        "sd": statistics.stdev(values),
        "min": min(values),
        "max": max(values),
    }


def paired_difference(first: list[float], second: list[float], margin: float) -> dict:
    """`second - first` seed by seed: mean, sd, 95 % CI, the two-sided p-value of "no
    difference", and the equivalence test (TOST) at level 0.05 against +-`margin`.

    TOST rejects both "difference <= -margin" and "difference >= +margin" exactly when the
    90 % CI lies inside (-margin, +margin), so that interval is the whole test.
    """
    differences = np.subtract(second, first)
    test = scipy.stats.ttest_1samp(differences, 0.0)
    ci95 = test.confidence_interval(1 - ALPHA)
    ci90 = test.confidence_interval(1 - 2 * ALPHA)
    return {
        "mean": float(differences.mean()),
        "sd": statistics.stdev(differences.tolist()),
        "n": len(differences),
        "ci95": [float(ci95.low), float(ci95.high)],
        "ci90": [float(ci90.low), float(ci90.high)],
        "p": float(test.pvalue),
        "margin": margin,
        "equivalent": bool(-margin < ci90.low and ci90.high < margin),
    }


def interval(d: dict, level: float) -> list[float]:
    """The two-sided `level` t interval of the paired difference `d`."""
    half = scipy.stats.t.ppf(0.5 + level / 2, d["n"] - 1) * d["sd"] / math.sqrt(d["n"])
    return [d["mean"] - half, d["mean"] + half]


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: a claim is shown at level a when its adjusted p is
    below a, and the chance of any false claim in the family stays below a.

    The i-th smallest p is multiplied by (m - i + 1), and each adjusted value is at least the
    one before it in that order.
    """
    m, adjusted, running = len(p_values), [0.0] * len(p_values), 0.0
    for rank, i in enumerate(sorted(range(m), key=p_values.__getitem__)):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def correct(differences: list[dict]) -> None:
    """Add to each paired difference of one family its Holm-adjusted p (`p_holm`), the family's
    size (`claims`) and its simultaneous interval (`ci_family`, Bonferroni: all of the family's
    intervals hold at once with 95 % confidence), which decides a claim about its size."""
    for d, adjusted in zip(differences, holm([d["p"] for d in differences]), strict=True):
        d["p_holm"] = adjusted
        d["claims"] = len(differences)
        d["ci_family"] = interval(d, 1 - ALPHA / len(differences))


def verdict(d: dict, metric: str, arm: str, reference: str, higher_is_better: bool) -> str:
    """One sentence on what the paired difference `d` (arm - reference) of `metric`, corrected
    with its family (`correct`), supports, and nothing more."""
    low, high = d["ci95"]
    interval = f"95 % CI {low:+.4f} to {high:+.4f}, {d['n']} paired seeds"
    difference = f"{arm} - {reference} {metric} = {d['mean']:+.4f} ({interval})"
    margin = f"±{d['margin']:g}"
    tested = f"p = {d['p']:.2g}, {d['p_holm']:.2g} after Holm's correction for {d['claims']} claims"
    if d["p_holm"] < ALPHA:
        better = arm if (d["mean"] > 0) == higher_is_better else reference
        family_low, family_high = d["ci_family"]
        if d["equivalent"]:
            size = f"but by less than the margin {margin}: equivalent for practical purposes"
        elif family_low > d["margin"] or family_high < -d["margin"]:
            level = 100 * (1 - ALPHA / d["claims"])
            size = (
                f"by more than the margin {margin} (its {level:.4g} % CI, one of "
                f"{d['claims']} that hold at once, {family_low:+.4f} to {family_high:+.4f})"
            )
        else:
            size = f"whether by more than the margin {margin}, these seeds cannot tell"
        return f"{better} is better on {metric}, {size}: {difference}; {tested}."
    if d["equivalent"]:
        return (
            f"Equivalent within {margin}: {difference}; the 90 % CI "
            f"{d['ci90'][0]:+.4f} to {d['ci90'][1]:+.4f} lies inside the margin."
        )
    if low > 0 or high < 0:
        return (
            f"Not resolved: {difference}; its interval excludes 0, but the difference is not "
            f"shown once the family is counted ({tested}), and equivalence within {margin} is "
            "not shown either: more seeds are needed to tell."
        )
    return (
        f"Not resolved: {difference}; no difference is shown, and equivalence within {margin} "
        "is not shown either: more seeds are needed to tell."
    )


def expected_best(scores, trials: int, axis: int = -1) -> np.ndarray:
    """The expected maximum of `trials` draws, with replacement, from `scores` (Dodge et al.
    2019): with v(1) <= ... <= v(N), sum of v(i) * ((i/N)^k - ((i-1)/N)^k). `trials` may be an
    array of k; `scores` may hold many samples along other axes."""
    ordered = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = ordered.shape[axis]
    i = np.arange(1, n + 1)
    k = np.asarray(trials)[..., np.newaxis]
    weights = (i / n) ** k - ((i - 1) / n) ** k
    return np.tensordot(np.moveaxis(ordered, axis, -1), weights, axes=([-1], [-1]))


def expected_best_band(scores: list[float], trials: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % percentile-bootstrap band of `expected_best` at each k in `trials`: the scores
    resampled with replacement (scipy.stats.bootstrap), as Dodge et al. (2021) recommend for a
    curve that is itself an estimate from a finite sample."""

    def curve(sample, axis=-1):  # one value per k, first; bootstrap's samples after
        return np.moveaxis(expected_best(sample, trials, axis=axis), -1, 0)

    band = scipy.stats.bootstrap(
        (np.asarray(scores, dtype=float),),
        curve,
        n_resamples=RESAMPLES,
        confidence_level=1 - ALPHA,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    ).confidence_interval
    return band.low, band.high
