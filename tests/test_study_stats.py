"""The study's statistics against numbers worked out by hand (and Student's t tables)."""

import json
import math

import numpy as np
import pytest

from mnist_pipeline.study import stats

# Test accuracies of three seeds, paired: differences 0.010, 0.005, 0.003.
MOMENTUM = [0.970, 0.980, 0.975]
ADAM = [0.980, 0.985, 0.978]


def test_summary_of_fixed_numbers():
    s = stats.summary([0.97, 0.98, 0.99])
    assert s["mean"] == pytest.approx(0.98)
    assert s["sd"] == pytest.approx(0.01)  # sample sd: sqrt((0.01² + 0 + 0.01²) / 2)
    assert (s["min"], s["max"]) == (0.97, 0.99)


@pytest.mark.parametrize(
    "level, expected",  # Student's t critical values for 19 degrees of freedom, from the tables
    [(0.95, 2.093), (0.90, 1.729), (0.99, 2.861)],
)
def test_an_interval_of_twenty_seeds_uses_the_t_tables(level, expected):
    d = {"mean": 0.0, "sd": math.sqrt(20), "n": 20}  # so that the standard error is 1
    assert stats.interval(d, level) == pytest.approx([-expected, expected], abs=5e-4)


def test_paired_difference_and_both_intervals_by_hand():
    d = stats.paired_difference(MOMENTUM, ADAM, margin=0.001)
    # mean 0.006; sd sqrt((0.004² + 0.001² + 0.003²) / 2) = sqrt(13e-6); se = sd / sqrt(3)
    se = math.sqrt(13e-6) / math.sqrt(3)
    assert d["n"] == 3 and d["mean"] == pytest.approx(0.006)
    assert d["sd"] == pytest.approx(math.sqrt(13e-6))
    assert d["ci95"] == pytest.approx([0.006 - 4.302653 * se, 0.006 + 4.302653 * se], abs=1e-6)
    assert d["ci90"] == pytest.approx([0.006 - 2.919986 * se, 0.006 + 2.919986 * se], abs=1e-6)
    # Two-sided p of t = 0.006 / se with 2 degrees of freedom, where P(T <= t) has the closed
    # form 1/2 + t / (2 sqrt(2 + t^2)): p = 1 - t / sqrt(2 + t^2).
    t = 0.006 / se
    assert d["p"] == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-9)
    json.dumps(d)  # plain numbers, as results.json holds them


def test_holm_multiplies_the_ith_smallest_p_by_m_minus_i_plus_one_and_keeps_the_order():
    # Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> 0.06
    # (never below the one before it); and no adjusted p above 1.
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_tost_is_equivalent_only_when_the_90_ci_lies_inside_the_margin():
    # Differences 0.0002, 0.0003, 0.0004: mean 0.0003, sd 0.0001, se 5.77e-5;
    # 90 % CI 0.0003 +- 2.92 * 5.77e-5 = [0.000131, 0.000469].
    first = [0.97, 0.97, 0.97]
    second = [0.9702, 0.9703, 0.9704]
    assert stats.paired_difference(first, second, margin=0.0005)["equivalent"]
    assert not stats.paired_difference(first, second, margin=0.00045)["equivalent"]


def test_expected_best_of_k_by_hand():
    scores = [0.1, 0.5, 0.9]
    # k = 1: the mean. k = 2: 0.1 * (1/9) + 0.5 * (4/9 - 1/9) + 0.9 * (1 - 4/9) = 6.1 / 9
    assert stats.expected_best(scores, 1) == pytest.approx(0.5)
    assert stats.expected_best(scores, [1, 2]) == pytest.approx([0.5, 6.1 / 9])
    # Many trials: almost surely the best.
    assert stats.expected_best(scores, 200) == pytest.approx(0.9, abs=1e-12)


def test_the_budget_band_by_hand_and_the_same_twice():
    # Two scores, 0 and 1: a resample is {0, 0} (1/4: best 0), {1, 1} (1/4: best 1) or {0, 1}
    # (1/2: best of k is 1 - 2^-k). The 2.5th and 97.5th percentiles are 0 and 1 at every k.
    low, high = stats.expected_best_band([0.0, 1.0], [1, 2, 5])
    assert low.tolist() == [0.0, 0.0, 0.0] and high.tolist() == [1.0, 1.0, 1.0]
    # Real-looking scores: the band holds the curve, narrows as k grows, and repeats exactly.
    scores = [0.97, 0.975, 0.98, 0.981, 0.11, 0.979, 0.5, 0.9805, 0.978, 0.982]
    trials = list(range(1, 11))
    low, high = stats.expected_best_band(scores, trials)
    curve = stats.expected_best(scores, trials)
    assert (low <= curve).all() and (curve <= high).all()
    assert high[-1] - low[-1] < high[0] - low[0]
    again = stats.expected_best_band(scores, trials)
    assert low.tolist() == again[0].tolist() and high.tolist() == again[1].tolist()


def verdict(first, second, margin=0.001, higher=True, others=()):
    """The sentence for adam-128 - momentum-128, corrected in a family with `others`' p."""
    d = stats.paired_difference(first, second, margin)
    family = [d, *({"p": p, "mean": 0.0, "sd": 1.0, "n": 3} for p in others)]
    stats.correct(family)
    return stats.verdict(d, "test acc", "adam-128", "momentum-128", higher_is_better=higher)


def test_a_difference_beyond_the_noise_and_the_margin_names_the_better_arm():
    # Differences 0.0040, 0.0041, 0.0042: the whole 95 % CI lies above the margin 0.001.
    sentence = verdict(MOMENTUM, [a + 0.004 + 0.0001 * i for i, a in enumerate(MOMENTUM)])
    assert sentence.startswith("adam-128 is better on test acc, by more than the margin ±0.001")
    assert sentence.endswith("after Holm's correction for 1 claims.")


def test_a_difference_that_holds_alone_is_not_claimed_once_its_family_is_counted():
    # Differences 0.004, 0.006, 0.005: p = 0.013 alone. Beside three claims with p = 0.5,
    # Holm multiplies it by 4: 0.052, no longer below 0.05 (t = 0.005 / 0.000577 = 8.66 with 2
    # degrees of freedom: p = 1 - t / sqrt(2 + t^2) = 0.0131).
    alone = verdict(MOMENTUM, [0.974, 0.986, 0.980], margin=0.005)
    assert alone.startswith("adam-128 is better on test acc")
    counted = verdict(MOMENTUM, [0.974, 0.986, 0.980], margin=0.005, others=[0.5] * 3)
    assert counted.startswith("Not resolved:") and "once the family is counted" in counted
    assert "p = 0.013, 0.052 after Holm's correction for 4 claims" in counted


def test_a_size_beyond_the_margin_needs_all_the_family_s_intervals_at_once():
    # Differences 0.0040, 0.0041, 0.0042 (mean 0.0041, se 5.77e-5): alone, the 95 % CI starts
    # at 0.0041 - 4.303 se = 0.00385, above a margin of 0.0038. With 10 claims each interval is
    # a 99.5 % one: 0.0041 - 14.09 se = 0.00329, below it, so the size stays open.
    second = [a + 0.004 + 0.0001 * i for i, a in enumerate(MOMENTUM)]
    alone = verdict(MOMENTUM, second, margin=0.0038)
    assert alone.startswith("adam-128 is better on test acc, by more than the margin ±0.0038")
    counted = verdict(MOMENTUM, second, margin=0.0038, others=[0.001] * 9)
    assert counted.startswith(
        "adam-128 is better on test acc, whether by more than the margin ±0.0038, these seeds "
        "cannot tell:"
    )


def test_a_difference_whose_interval_straddles_the_margin_says_it_cannot_tell():
    # Differences 0.004, 0.006, 0.005: 95 % CI 0.005 +- 4.303 * 0.001 / sqrt(3) = [0.0025, 0.0075].
    sentence = verdict(MOMENTUM, [0.974, 0.986, 0.980], margin=0.005)
    assert sentence.startswith(
        "adam-128 is better on test acc, whether by more than the margin ±0.005, these seeds "
        "cannot tell:"
    )


def test_a_small_real_difference_inside_the_margin_is_equivalence_for_practical_purposes():
    sentence = verdict([0.97] * 4, [0.9702, 0.9703, 0.9702, 0.9703], margin=0.001)
    assert "but by less than the margin ±0.001: equivalent for practical purposes" in sentence


def test_for_a_loss_lower_is_better():
    sentence = verdict([0.07, 0.08, 0.075], [0.06, 0.071, 0.064], margin=0.001, higher=False)
    assert sentence.startswith("adam-128 is better on test acc")


def test_an_interval_around_zero_inside_the_margin_is_equivalence():
    sentence = verdict([0.97, 0.97, 0.97, 0.97], [0.9701, 0.9699, 0.97, 0.97001], margin=0.001)
    assert sentence.startswith("Equivalent within ±0.001")


def test_a_wide_interval_around_zero_resolves_nothing():
    sentence = verdict(MOMENTUM, [0.975, 0.972, 0.981], margin=0.001)  # +0.005, -0.008, +0.006
    assert sentence.startswith("Not resolved:") and "more seeds are needed" in sentence


def test_counts_of_each_value_per_row_by_hand():
    draws = np.array([[0, 0, 2], [1, 2, 1]])
    assert stats.counts(draws, 3).tolist() == [[2, 0, 1], [0, 2, 1]]


def test_the_two_way_bootstrap_averages_each_replicate_s_grid_of_seeds_and_images(monkeypatch):
    # Checked against the definition, replicate by replicate: draw seeds and images with
    # replacement (the same generator, the same order, chunk by chunk) and average the
    # differences over the drawn rows and columns, repeats counted.
    monkeypatch.setattr(stats, "RESAMPLES", 50)
    monkeypatch.setattr(stats, "CHUNK", 20)
    d = np.random.default_rng(7).normal(size=(4, 9))
    replicates = stats.image_seed_bootstrap({"acc": d, "twice": 2 * d})
    rng, expected = np.random.default_rng(stats.BOOTSTRAP_SEED), []
    for size in (20, 20, 10):
        seeds, images = rng.integers(0, 4, (size, 4)), rng.integers(0, 9, (size, 9))
        expected += [d[np.ix_(s, i)].mean() for s, i in zip(seeds, images, strict=True)]
    assert replicates["acc"] == pytest.approx(expected, abs=1e-12)
    assert replicates["twice"] == pytest.approx(2 * np.array(expected), abs=1e-12)


def test_a_difference_the_same_on_every_seed_and_image_has_no_spread():
    replicates = stats.image_seed_bootstrap({"acc": np.full((3, 5), 0.25)})["acc"]
    assert len(replicates) == stats.RESAMPLES and np.ptp(replicates) < 1e-15


def test_bootstrap_intervals_and_p_by_hand():
    # Replicates 0, 1, ..., 99: the 5th and 95th percentiles, interpolated, are 4.95 and 94.05;
    # one replicate (0) is <= 0 and all 100 are >= 0: p = 2 * (1 + 1) / 101.
    summary = stats.bootstrap_summary(np.arange(100.0), claims=8)
    assert summary["ci90"] == pytest.approx([4.95, 94.05])
    assert summary["ci95"] == pytest.approx([2.475, 96.525])
    # Each of 8 claims at 1 - 0.05 / 8: the 0.3125th and 99.6875th percentiles.
    assert summary["ci_family"] == pytest.approx([0.309375, 98.690625])
    assert summary["p"] == pytest.approx(4 / 101)


def with_images(first, second, low, high, margin=0.001, p=0.5):
    """A paired difference with a bootstrap over images whose intervals are (low, high)."""
    d = stats.paired_difference(first, second, margin)
    replicates = np.linspace(low, high, 9999)
    stats.add_images(d, replicates, claims=1)
    d["images"]["p"] = p  # as if the bootstrap had found this p
    d["p_claim"] = max(d["p"], p)
    stats.correct([d])
    return d


def test_equivalence_on_this_test_set_only_when_new_images_could_move_it_past_the_margin():
    # The seeds' 90 % CI lies well inside +-0.001; over seeds and images it reaches 0.002.
    first, second = [0.97] * 4, [0.9701, 0.9699, 0.97, 0.97001]
    d = with_images(first, second, -0.002, 0.002)
    assert d["equivalent_seeds"] and not d["equivalent"]
    sentence = stats.verdict(d, "test acc", "adam-128", "momentum-128", higher_is_better=True)
    assert sentence.startswith("Equivalent within ±0.001 on this test set only:")
    both = with_images(first, second, -0.0001, 0.0001)
    assert both["equivalent"]
    sentence = stats.verdict(both, "test acc", "adam-128", "momentum-128", higher_is_better=True)
    assert sentence.startswith("Equivalent within ±0.001:") and "both lie inside" in sentence


def test_a_difference_is_claimed_only_when_the_bootstrap_finds_it_too():
    second = [a + 0.004 + 0.0001 * i for i, a in enumerate(MOMENTUM)]  # t: p ~ 1e-4
    shown = with_images(MOMENTUM, second, 0.003, 0.005, p=0.0002)
    assert shown["p_holm"] == pytest.approx(max(shown["p"], 0.0002))
    assert stats.verdict(shown, "test acc", "a", "b", True).startswith("a is better")
    unseen = with_images(MOMENTUM, second, -0.001, 0.009, p=0.3)
    assert unseen["p_holm"] == pytest.approx(0.3)
    assert stats.verdict(unseen, "test acc", "a", "b", True).startswith("Not resolved:")
