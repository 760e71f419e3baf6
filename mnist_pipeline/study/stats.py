"""The study's statistics: spread over seeds, the paired difference with its confidence
intervals and equivalence test, the same difference resampled over test images and seeds,
Holm's correction over a problem's difference claims, and the expected best score of a random
search with its bootstrap band.

Paired, because rerun seed s gives every arm the same validation split, initial weights and
batch order: the per-seed difference cancels what a seed does to both. The t intervals and
p-values (Student's t with n - 1 degrees of freedom, scipy.stats) count the seeds as the sample:
they say how far the seeds carry on these 10,000 test images. The two-way bootstrap
(`image_seed_bootstrap`) resamples the test images too, as if each were drawn again from the
same distribution: how far the difference carries to new images. A verdict needs both.
"""

import math
import statistics

import numpy as np
import scipy.stats

# The level of every test: 95 % intervals, and 5 % for the family of a problem's claims.
ALPHA = 0.05
# Resamples of each bootstrap, drawn from a fixed seed so the report's bytes repeat.
RESAMPLES = 9999
BOOTSTRAP_SEED = 0
CHUNK = 1000  # resamples drawn at once: a chunk's image counts are CHUNK x 10,000 numbers


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


def image_seed_bootstrap(differences: dict) -> dict:
    """Resample the rerun seeds and the test images at once, and return each mean difference's
    RESAMPLES replicates, for `differences`: key -> array (seeds x images) of one arm's
    per-image score minus its reference's, paired by seed and image.

    Each replicate draws the seeds with replacement and, independently, the images with
    replacement, and averages the differences over that grid (the two-way, "pigeonhole"
    bootstrap of Owen 2007, for data crossed by two random factors). Resampling the seeds alone
    would repeat the t test's question; the images alone, ignore that seeds vary. Every key is
    resampled with the same draws, as the arms share their seeds and images.
    """
    if not differences:
        return {}
    shapes = {d.shape for d in differences.values()}
    (n_seeds, n_images), *others = shapes
    if others:
        raise ValueError(f"differences of several shapes: {sorted(shapes)}")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    replicates = {key: [] for key in differences}
    for start in range(0, RESAMPLES, CHUNK):
        size = min(CHUNK, RESAMPLES - start)
        seeds = counts(rng.integers(0, n_seeds, (size, n_seeds)), n_seeds)
        images = counts(rng.integers(0, n_images, (size, n_images)), n_images)
        for key, d in differences.items():
            # Per replicate: sum over seeds of (seed's count) x (image-weighted sum of its row).
            by_seed = images @ np.asarray(d, dtype=float).T
            replicates[key].append((seeds * by_seed).sum(axis=1) / (n_seeds * n_images))
    return {key: np.concatenate(chunks) for key, chunks in replicates.items()}


def counts(draws: np.ndarray, n: int) -> np.ndarray:
    """How often each of 0 ... n-1 occurs in each row of `draws`, as float."""
    rows = draws.shape[0]
    flat = (draws + n * np.arange(rows)[:, np.newaxis]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def bootstrap_summary(replicates: np.ndarray, claims: int) -> dict:
    """Percentile intervals of a difference's bootstrap replicates, at 90 % (its equivalence
    test), 95 % and the family's level (1 - 0.05 / claims), and the two-sided bootstrap p-value
    of "no difference": twice the smaller share of replicates on either side of 0 (a share of
    at least 1 / (RESAMPLES + 1), never 0)."""

    def percentile(level: float) -> list[float]:
        low, high = np.percentile(replicates, [50 - level * 50, 50 + level * 50])
        return [float(low), float(high)]

    n = len(replicates) + 1
    below = (np.count_nonzero(replicates <= 0) + 1) / n
    above = (np.count_nonzero(replicates >= 0) + 1) / n
    return {
        "resamples": len(replicates),
        "ci90": percentile(1 - 2 * ALPHA),
        "ci95": percentile(1 - ALPHA),
        "ci_family": percentile(1 - ALPHA / claims),
        "p": min(1.0, 2 * min(below, above)),
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


def add_images(d: dict, replicates: np.ndarray | None, claims: int) -> None:
    """Add to the paired difference `d` its bootstrap over seeds and test images (`images`,
    None when a rerun diverged and has no per-image scores) and what the verdict reads from
    both: `p_claim`, the larger of the two p-values (a difference is claimed only when both
    tests find it), and `equivalent`, both 90 % intervals inside the margin (`equivalent_seeds`
    keeps the t interval's answer alone)."""
    d["images"] = None if replicates is None else bootstrap_summary(replicates, claims)
    d["equivalent_seeds"] = d["equivalent"]
    d["p_claim"] = d["p"]
    if d["images"] is not None:
        low, high = d["images"]["ci90"]
        d["equivalent"] = d["equivalent_seeds"] and -d["margin"] < low and high < d["margin"]
        d["p_claim"] = max(d["p"], d["images"]["p"])


def correct(differences: list[dict]) -> None:
    """Add to each paired difference of one family its Holm-adjusted p (`p_holm`, of `p_claim`
    when `add_images` gave one), the family's size (`claims`) and its simultaneous interval
    (`ci_family`, Bonferroni: all of the family's intervals hold at once with 95 %
    confidence), which decides a claim about its size."""
    p_values = [d.get("p_claim", d["p"]) for d in differences]
    for d, adjusted in zip(differences, holm(p_values), strict=True):
        d["p_holm"] = adjusted
        d["claims"] = len(differences)
        d["ci_family"] = interval(d, 1 - ALPHA / len(differences))


def better(d: dict, arm: str, reference: str, higher_is_better: bool) -> str:
    """Which of the two the paired difference `d` (arm - reference) favours."""
    return arm if (d["mean"] > 0) == higher_is_better else reference


def family_intervals(d: dict) -> list[list[float]]:
    """The family-level intervals of `d`: over the seeds, and over seeds and test images where
    `add_images` gave one."""
    return [d["ci_family"]] + ([d["images"]["ci_family"]] if d.get("images") else [])


def beyond_margin(d: dict) -> bool:
    """Whether every family-level interval of `d` lies beyond the margin."""
    return all(low > d["margin"] or high < -d["margin"] for low, high in family_intervals(d))


def verdict(d: dict, metric: str, arm: str, reference: str, higher_is_better: bool) -> str:
    """One sentence on what the paired difference `d` (arm - reference) of `metric`, corrected
    with its family (`correct`), supports, and nothing more: over the seeds on this test set
    (t) and, where `add_images` gave one, over seeds and new test images (bootstrap)."""
    images = d.get("images")

    def span(pair: list[float]) -> str:
        return f"{pair[0]:+.4f} to {pair[1]:+.4f}"

    intervals = f"95 % CI {span(d['ci95'])} over {d['n']} paired seeds"
    if images:
        intervals += f", {span(images['ci95'])} over seeds and test images"
    difference = f"{arm} - {reference} {metric} = {d['mean']:+.4f} ({intervals})"
    margin = f"±{d['margin']:g}"
    both = ", the larger of the t test's and the bootstrap's;" if images else ","
    tested = f"p = {d.get('p_claim', d['p']):.2g}{both} {d['p_holm']:.2g} after Holm's correction"
    tested += f" for {d['claims']} claims"
    if d["p_holm"] < ALPHA:
        if d["equivalent"]:
            size = f"but by less than the margin {margin}: equivalent for practical purposes"
        elif beyond_margin(d):
            level = 100 * (1 - ALPHA / d["claims"])
            spans = " and ".join(span(pair) for pair in family_intervals(d))
            size = (
                f"by more than the margin {margin} (its {level:.4g} % intervals, of {d['claims']} "
                f"that hold at once, {spans})"
            )
        else:
            who = "these seeds and test images" if images else "these seeds"
            size = f"whether by more than the margin {margin}, {who} cannot tell"
        winner = better(d, arm, reference, higher_is_better)
        return f"{winner} is better on {metric}, {size}: {difference}; {tested}."
    if d["equivalent"]:
        inside = f"the 90 % CI {span(d['ci90'])} lies inside the margin"
        if images:
            inside = (
                f"the 90 % CIs, {span(d['ci90'])} over the seeds and {span(images['ci90'])} over "
                "seeds and test images, both lie inside the margin"
            )
        return f"Equivalent within {margin}: {difference}; {inside}."
    if d.get("equivalent_seeds", d["equivalent"]):
        return (
            f"Equivalent within {margin} on this test set only: {difference}; over the seeds the "
            f"90 % CI {span(d['ci90'])} lies inside the margin, over seeds and new test images "
            f"{span(images['ci90'])} does not."
        )
    more = "these seeds and test images cannot tell" if images else "more seeds are needed"
    if d["ci95"][0] > 0 or d["ci95"][1] < 0:
        return (
            f"Not resolved: {difference}; its interval excludes 0, but the difference is not "
            f"shown once the family is counted ({tested}), and equivalence within {margin} is "
            f"not shown either: {more}."
        )
    return (
        f"Not resolved: {difference}; no difference is shown, and equivalence within {margin} "
        f"is not shown either: {more}."
    )


def in_brief(d: dict, arm: str, reference: str, higher_is_better: bool) -> str:
    """The verdict of `verdict` in a few words, for a table."""
    if d["p_holm"] < ALPHA:
        winner = better(d, arm, reference, higher_is_better)
        if d["equivalent"]:
            return f"{winner} better, by less than ±{d['margin']:g}"
        if beyond_margin(d):
            return f"{winner} better, by more than ±{d['margin']:g}"
        return f"{winner} better; beyond ±{d['margin']:g}? cannot tell"
    if d["equivalent"]:
        return f"equivalent within ±{d['margin']:g}"
    if d.get("equivalent_seeds", d["equivalent"]):
        return f"equivalent within ±{d['margin']:g} on this test set only"
    return "not resolved"


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
