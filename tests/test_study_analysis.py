"""How the study chooses an lr and reads its runs, on small hand-made tables."""

import copy

import pandas as pd
import pytest
import yaml

from mnist_pipeline.errors import UserError
from mnist_pipeline.study import analysis, protocol
from tests.test_e2e_study import TINY

GRID = [0.001, 0.00316, 0.01, 0.0316, 0.1]


def plan(**changes):
    raw = copy.deepcopy(yaml.safe_load(TINY)) | {"lrs": GRID} | changes
    return protocol.parse(raw).on("mnist")


def scores(accuracies: dict[str, list[list[float]]]) -> pd.DataFrame:
    """arm -> per lr of GRID, the validation accuracy of each tuning seed."""
    rows = [
        {"arm": arm, "lr": lr, "seed": seed, "val_acc": acc, "diverged": acc == 0.1}
        for arm, per_lr in accuracies.items()
        for lr, seeds in zip(GRID, per_lr, strict=True)
        for seed, acc in enumerate(seeds, 1)
    ]
    return pd.DataFrame(rows)


MOMENTUM = [[0.95, 0.95], [0.97, 0.96], [0.975, 0.977], [0.976, 0.975], [0.1, 0.96]]
ADAM = [[0.96, 0.96], [0.978, 0.976], [0.97, 0.97], [0.95, 0.94], [0.1, 0.1]]


def test_the_choice_is_the_best_mean_and_the_test_set_is_not_an_input():
    curve = analysis.sensitivity(scores({"momentum-128": MOMENTUM, "adam-128": ADAM}))
    assert "test_acc" not in curve.columns
    assert analysis.choose(plan(), curve) == {"momentum-128": 0.01, "adam-128": 0.00316}
    row = curve[(curve.arm == "momentum-128") & (curve.lr == 0.1)].iloc[0]
    assert (row["diverged"], row["mean"]) == (1, pytest.approx(0.53))


def test_a_best_lr_too_close_to_the_grid_s_end_stops_the_study():
    curve = analysis.sensitivity(scores({"momentum-128": MOMENTUM, "adam-128": ADAM}))
    # adam-128's best, 0.00316, is half a decade above the grid's low end.
    with pytest.raises(
        UserError, match="adam-128's best lr on mnist, 0.00316, is 0.50 decades from the grid"
    ):
        analysis.choose(plan(lr_room=1), curve)
    assert analysis.choose(plan(lr_room=0.5), curve)["adam-128"] == 0.00316


def test_a_tie_goes_to_the_smaller_lr():
    tied = [[0.9, 0.9], [0.97, 0.97], [0.97, 0.97], [0.9, 0.9], [0.9, 0.9]]
    curve = analysis.sensitivity(scores({"momentum-128": tied, "adam-128": tied}))
    assert analysis.choose(plan(), curve)["adam-128"] == 0.00316


def test_the_good_range_is_the_contiguous_run_within_tolerance_of_the_best():
    curve = analysis.sensitivity(scores({"momentum-128": MOMENTUM}))
    # means: 0.95, 0.965, 0.976, 0.9755, 0.53; within 0.002 of 0.976: 0.01 and 0.0316.
    assert analysis.good_range(curve, 0.01, 0.002) == (0.01, 0.0316)
    assert analysis.good_range(curve, 0.01, 0.0001) == (0.01, 0.01)


def test_epochs_to_a_target_and_their_median_over_seeds():
    assert analysis.first_epoch([0.9, 0.97, 0.98, 0.97], 0.975) == 3
    assert analysis.first_epoch([0.9, 0.97], 0.975) is None
    # Three seeds: 2, 4 and never: the median is 4, never counting as later than all.
    assert analysis.median_epoch(pd.Series([2, 4, None])) == 4
    assert analysis.median_epoch(pd.Series([2, None, None])) is None


def test_the_budget_curve_starts_at_the_mean_and_ends_near_the_best():
    table = analysis.budget(plan(), scores({"momentum-128": MOMENTUM, "adam-128": ADAM}))
    values = [acc for per_lr in ADAM for acc in per_lr]
    assert table["adam-128"][0] == pytest.approx(sum(values) / len(values))
    assert table["adam-128"].is_monotonic_increasing
    assert table.trials.tolist() == list(range(1, 11))
    assert table["adam-128"].iloc[-1] < max(values)
