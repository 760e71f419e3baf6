"""The study's statistics against numbers worked out by hand (and Student's t tables)."""

import math

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
    "p, df, expected",  # Student's t critical values, from the printed tables
    [
        (0.975, 1, 12.706),
        (0.975, 2, 4.303),
        (0.975, 4, 2.776),
        (0.975, 19, 2.093),
        (0.95, 2, 2.920),
        (0.95, 19, 1.729),
    ],
)
def test_t_quantile_matches_the_tables(p, df, expected):
    assert stats.t_quantile(p, df) == pytest.approx(expected, abs=5e-4)


def test_paired_difference_and_both_intervals_by_hand():
    d = stats.paired_difference(MOMENTUM, ADAM, margin=0.001)
    # mean 0.006; sd sqrt((0.004² + 0.001² + 0.003²) / 2) = sqrt(13e-6); se = sd / sqrt(3)
    se = math.sqrt(13e-6) / math.sqrt(3)
    assert d["n"] == 3 and d["mean"] == pytest.approx(0.006)
    assert d["sd"] == pytest.approx(math.sqrt(13e-6))
    assert d["ci95"] == pytest.approx([0.006 - 4.302653 * se, 0.006 + 4.302653 * se], abs=1e-6)
    assert d["ci90"] == pytest.approx([0.006 - 2.919986 * se, 0.006 + 2.919986 * se], abs=1e-6)


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
    assert stats.expected_best(scores, 2) == pytest.approx(6.1 / 9)
    # Many trials: almost surely the best.
    assert stats.expected_best(scores, 200) == pytest.approx(0.9, abs=1e-12)


def verdict(first, second, margin=0.001, higher=True):
    d = stats.paired_difference(first, second, margin)
    return stats.verdict(d, "test acc", "adam-128", "momentum-128", higher_is_better=higher)


def test_a_difference_beyond_the_noise_and_the_margin_names_the_better_arm():
    # Differences 0.0040, 0.0041, 0.0042: the whole 95 % CI lies above the margin 0.001.
    sentence = verdict(MOMENTUM, [a + 0.004 + 0.0001 * i for i, a in enumerate(MOMENTUM)])
    assert sentence.startswith("adam-128 is better on test acc, by more than the margin ±0.001:")


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
