import math
import sys

import pytest

from mnist_pipeline import seed_stats
from tests.conftest import ROOT, run

# Test accuracies of three seeds, paired: differences 0.010, 0.005, 0.003.
ADAM = [0.970, 0.980, 0.975]
SGD = [0.980, 0.985, 0.978]


def test_summary_of_fixed_numbers():
    s = seed_stats.summary([0.97, 0.98, 0.99])
    assert s["mean"] == pytest.approx(0.98)
    assert s["std"] == pytest.approx(0.01)  # sample std: sqrt((0.01² + 0 + 0.01²) / 2)
    assert (s["min"], s["max"]) == (0.97, 0.99)


@pytest.mark.parametrize(
    "df, expected",  # two-sided 95 % critical values of Student's t, from the printed tables
    [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)],
)
def test_t_quantile_matches_the_tables(df, expected):
    assert seed_stats.t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_paired_difference_by_hand():
    d = seed_stats.paired_difference(ADAM, SGD)
    # mean 0.006; std sqrt((0.004² + 0.001² + 0.003²) / 2) = sqrt(13e-6);
    # half width 4.302653 * std / sqrt(3)
    std = math.sqrt(13e-6)
    half = 4.302653 * std / math.sqrt(3)
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(0.006)
    assert d["std"] == pytest.approx(std)
    assert d["ci95"] == pytest.approx([0.006 - half, 0.006 + half], abs=1e-6)


def test_an_interval_that_includes_zero_shows_no_difference():
    d = seed_stats.paired_difference(ADAM, SGD)  # CI about -0.0030 to +0.0150
    sentence = seed_stats.verdict(d, "test accuracy", "Adam", "SGD")
    assert sentence.startswith("No difference shown: SGD - Adam test accuracy = +0.0060")
    assert "95 % CI -0.0030 to +0.0150, 3 seeds" in sentence


def test_an_interval_above_zero_names_the_better_one():
    d = seed_stats.paired_difference(ADAM, [a + 0.004 + 0.0001 * i for i, a in enumerate(ADAM)])
    sentence = seed_stats.verdict(d, "test accuracy", "Adam", "SGD")
    assert sentence.startswith("SGD reaches the higher test accuracy: SGD - Adam = +0.0041")


def test_an_interval_below_zero_names_the_first():
    d = seed_stats.paired_difference(SGD, ADAM)
    d["ci95"] = [-0.02, -0.001]
    assert seed_stats.verdict(d, "test accuracy", "SGD", "Adam").startswith("SGD reaches")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], "--seeds: expected an integer >= 2 (a spread needs two runs), got 0"),
        (["--seeds", "-3"], "--seeds: expected an integer >= 2 (a spread needs two runs), got -3"),
        (["--seeds", "1"], "--seeds: expected an integer >= 2 (a spread needs two runs), got 1"),
        (["--jobs", "0"], "--jobs: expected an integer >= 1, got 0"),
    ],
)
def test_the_sweep_refuses_bad_counts_in_one_line_before_touching_dvc(args, message, tmp_path):
    # In an empty folder, not a DVC project: the check must come first.
    command = [sys.executable, "-m", "mnist_pipeline.sweep", *args]
    result = run(command, cwd=tmp_path, check=False, env_extra={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert result.stderr == f"error: {message}\n"
