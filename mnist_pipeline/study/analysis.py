"""From the cells' results to the study's answer.

`choose` picks each arm's lr from the tuning cells, on validation accuracy alone: the test set
is read only from the rerun cells, after the choice. `report` gathers what the answer rests on:
lr sensitivity, the tuning budget, the reruns' test scores, speed, and the paired verdict of
each arm against the reference optimizer at its batch size.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.errors import UserError
from mnist_pipeline.study import images, stats
from mnist_pipeline.study.protocol import CHANCE, PROTOCOL_FILE, Cell, Protocol

# Slack for the edge rule: grid values rounded to three significant digits sit a hair less than
# a whole number of decades apart.
ROUNDING = 0.01
# A run diverged when its loss became NaN or infinite (training stops there), or when it ended
# knowing nothing: final validation accuracy below twice chance. At high lrs most runs blow up
# in their first steps into a constant prediction (accuracy ~0.11, loss ~2.30 or a huge finite
# one) without a NaN ever appearing; DeepOBS counts such runs as diverged too.
COLLAPSED = 0.2
# Published numbers, for scale, per problem (docs/study.md says how their runs differ from ours):
# DeepOBS's stored baselines for its `mnist_mlp` and `fmnist_mlp` (a 1000-500-100 MLP, 100
# epochs, batch 128, constant lr: the final test accuracy over seeds 42-51), and the
# Fashion-MNIST paper's scikit-learn MLP with one hidden layer of 100 ReLUs (Xiao et al. 2017,
# table 3).
ANCHORS = {
    "mnist": [
        ("DeepOBS mnist_mlp: Adam", "6.31e-4", "0.9859 ± 0.0013 (n=10)"),
        ("DeepOBS mnist_mlp: momentum 0.99", "3.98e-3", "0.9856 ± 0.0007 (n=10)"),
        ("Xiao et al. 2017: scikit-learn MLP, 100 ReLUs", "", "0.972 (the paper's mean)"),
    ],
    "fashion-mnist": [
        ("DeepOBS fmnist_mlp: Adam", "6.31e-4", "0.8917 ± 0.0027 (n=10)"),
        ("DeepOBS fmnist_mlp: momentum 0.99", "1.58e-3", "0.8909 ± 0.0030 (n=10)"),
        ("Xiao et al. 2017: scikit-learn MLP, 100 ReLUs", "", "0.871 (the paper's mean)"),
    ],
}


def read_cell(cell: Cell, cells_dir: Path) -> dict:
    path = cells_dir / cell.file
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(
            f"{path}: cannot read cell {cell.name} ({error}); `python -m mnist_pipeline.study` "
            "runs what is missing"
        ) from None


def tuning_scores(plan: Protocol, cells_dir: Path) -> pd.DataFrame:
    """One row per tuning cell: arm, lr, seed, its final validation accuracy (chance if its
    loss became NaN) and whether it diverged."""
    rows = []
    for cell in plan.cells("tune"):
        result = read_cell(cell, cells_dir)
        val_acc = CHANCE["acc"] if result["diverged"] else result["val_acc"][-1]
        diverged = result["diverged"] or val_acc < COLLAPSED
        rows.append(
            {
                "arm": cell.arm,
                "lr": float(cell.lr),
                "seed": cell.seed,
                "val_acc": val_acc,
                "diverged": diverged,
            }
        )
    return pd.DataFrame(rows)


def sensitivity(scores: pd.DataFrame) -> pd.DataFrame:
    """Per arm and lr: mean, min and max validation accuracy over the tuning seeds, and how
    many of them diverged."""
    grouped = scores.groupby(["arm", "lr"], sort=False)
    table = grouped.val_acc.agg(["mean", "min", "max"]).join(grouped.diverged.sum())
    return table.reset_index().sort_values(["arm", "lr"], kind="stable", ignore_index=True)


def choose(plan: Protocol, curve: pd.DataFrame) -> dict[str, float]:
    """Each arm's lr: the best mean validation accuracy (the smaller lr on a tie). It must lie
    `lr_room` decades inside the grid on both sides: the protocol extends the grid until it
    does."""
    low, high = math.log10(min(plan.lrs)), math.log10(max(plan.lrs))
    chosen = {}
    for arm in plan.arms:
        rows = curve[curve.arm == arm.name]
        best = float(rows.lr[rows["mean"].idxmax()])
        for side, room in (("below", math.log10(best) - low), ("above", high - math.log10(best))):
            if room < plan.lr_room - ROUNDING:
                raise UserError(
                    f"{PROTOCOL_FILE}: lrs: {arm.name}'s best lr on {plan.problem.name}, "
                    f"{best:g}, is {room:.2f} decades from the grid's end, less than lr_room "
                    f"({plan.lr_room:g}); extend the grid {side} it and run the study again"
                )
        chosen[arm.name] = best
    return chosen


def good_range(rows: pd.DataFrame, best: float, tolerance: float) -> tuple[float, float]:
    """The lrs around `best`, contiguous on the grid, whose mean validation accuracy is within
    `tolerance` of the best's."""
    rows = rows.sort_values("lr", ignore_index=True)
    good = (rows["mean"] >= rows["mean"].max() - tolerance).tolist()
    at = rows.index[rows.lr == best][0]
    first, last = at, at
    while first > 0 and good[first - 1]:
        first -= 1
    while last < len(rows) - 1 and good[last + 1]:
        last += 1
    return float(rows.lr[first]), float(rows.lr[last])


def budget(plan: Protocol, scores: pd.DataFrame) -> pd.DataFrame:
    """Expected best validation accuracy after k trials drawn at random from an arm's tuning
    cells (every lr of the grid, every tuning seed), k = 1 ... all of them, and its 95 %
    bootstrap band (columns "ARM low" and "ARM high")."""
    trials = list(range(1, len(plan.lrs) * len(plan.tuning_seeds) + 1))
    table = {"trials": trials}
    for arm in plan.arms:
        values = scores.val_acc[scores.arm == arm.name].tolist()
        table[arm.name] = stats.expected_best(values, trials)
        table[f"{arm.name} low"], table[f"{arm.name} high"] = stats.expected_best_band(
            values, trials
        )
    return pd.DataFrame(table)


def first_epoch(curve: list[float], target: float) -> int | None:
    """The first epoch whose validation accuracy reached `target`, or None."""
    return next((epoch for epoch, acc in enumerate(curve, 1) if acc >= target), None)


def reruns(plan: Protocol, cells_dir: Path) -> pd.DataFrame:
    """One row per rerun cell: arm, seed, test accuracy and loss, diverged, the validation
    curve, and the first epoch at each target."""
    rows = []
    for cell in plan.cells("rerun"):
        result = read_cell(cell, cells_dir)
        row = {
            "arm": cell.arm,
            "seed": cell.seed,
            "test_acc": result["test"]["acc"],
            "test_loss": result["test"]["loss"],
            "diverged": result["diverged"] or result["val_acc"][-1] < COLLAPSED,
            "val_acc": result["val_acc"],
        }
        for target in plan.targets:
            row[target] = first_epoch(result["val_acc"], target)
        rows.append(row)
    return pd.DataFrame(rows)


def test_images(plan: Protocol, cells_dir: Path) -> dict:
    """(arm, seed) -> (per-image test losses, right-or-wrong) of each rerun; None for a rerun
    that diverged and kept none."""
    found = {}
    for cell in plan.cells("rerun"):
        packed = read_cell(cell, cells_dir).get("test_images")
        found[cell.arm, cell.seed] = None if packed is None else images.unpack(packed)
    return found


def image_differences(plan: Protocol, scored: dict, arm: str) -> dict | None:
    """metric -> (seeds x images) of `arm`'s per-image score minus its reference's, seed by
    seed; None if a rerun of either has no per-image scores."""
    reference = plan.reference_of(arm)
    pairs = [(scored[reference, seed], scored[arm, seed]) for seed in plan.rerun_seeds]
    if any(theirs is None or mine is None for theirs, mine in pairs):
        return None
    return {
        "test_acc": np.stack([mine[1].astype(int) - theirs[1] for theirs, mine in pairs]),
        "test_loss": np.stack([mine[0] - theirs[0] for theirs, mine in pairs]),
    }


def median_epoch(values: pd.Series) -> float | None:
    """The median first epoch at a target over seeds, a seed that never reached it counting as
    later than all: None when half or more never did."""
    reached = values.dropna()
    if len(reached) <= len(values) / 2:
        return None
    ordered = sorted(reached.tolist()) + [math.inf] * (len(values) - len(reached))
    return float(np.median(ordered))


def report(plan: Protocol, cells_dir: Path, chosen: dict[str, float]) -> dict:
    """Everything the study states: per arm, the numbers of the table; and the frames of the
    figures and plots."""
    scores = tuning_scores(plan, cells_dir)
    curve = sensitivity(scores)
    runs = reruns(plan, cells_dir)
    arms = {}
    for arm in plan.arms:
        name = arm.name
        mine = runs[runs.arm == name].sort_values("seed")
        lo, hi = good_range(curve[curve.arm == name], chosen[name], plan.good_range)
        tuned = scores[scores.arm == name]
        arms[name] = {
            "lr": chosen[name],
            "good_lrs": {"low": lo, "high": hi, "decades": math.log10(hi / lo)},
            "grid_divergence": float(tuned.diverged.mean()),
            "rerun_diverged": int(mine.diverged.sum()),
            "test_acc": stats.summary(mine.test_acc.tolist()) | {"n": len(mine)},
            "test_loss": stats.summary(mine.test_loss.tolist()) | {"n": len(mine)},
            "epochs_to": {target_key(t): median_epoch(mine[t]) for t in plan.targets},
        }
        reference = plan.reference_of(name)
        if reference != name:
            theirs = runs[runs.arm == reference].sort_values("seed")
            arms[name]["vs_reference"] = {
                metric: stats.paired_difference(
                    theirs[metric].tolist(), mine[metric].tolist(), plan.margins[metric]
                )
                for metric in ("test_acc", "test_loss")
            }
    # The same differences over seeds and test images: one bootstrap for the problem, its draws
    # shared by every arm and metric.
    scored = test_images(plan, cells_dir)
    compared = {name: arm["vs_reference"] for name, arm in arms.items() if "vs_reference" in arm}
    claims = 2 * len(compared)
    by_arm = {name: image_differences(plan, scored, name) for name in compared}
    replicates = stats.image_seed_bootstrap(
        {(name, metric): d for name, ds in by_arm.items() if ds for metric, d in ds.items()}
    )
    for name, differences in compared.items():
        for metric, d in differences.items():
            stats.add_images(d, replicates.get((name, metric)), claims)
    # One family per problem: every claim "this arm differs from its reference" on either
    # metric. Holm's correction keeps the chance of any false difference claim below 5 %.
    stats.correct([d for differences in compared.values() for d in differences.values()])
    return {
        "arms": arms,
        "scores": scores,
        "sensitivity": curve,
        "reruns": runs,
        "budget": budget(plan, scores),
    }


def headline(arms: dict) -> dict:
    """Per arm, what `dvc metrics show` and `dvc metrics diff` should show of the study: the
    chosen lr, the mean test scores, and the difference from the reference with its interval."""
    numbers = {}
    for name, arm in arms.items():
        numbers[name] = {
            "lr": arm["lr"],
            "test_acc": arm["test_acc"]["mean"],
            "test_loss": arm["test_loss"]["mean"],
        }
        if "vs_reference" in arm:
            d = arm["vs_reference"]["test_acc"]
            numbers[name]["d_acc"] = {
                "mean": d["mean"],
                "low": d["ci95"][0],
                "high": d["ci95"][1],
                "p_holm": d["p_holm"],
            }
            if d["images"]:  # the same interval over seeds and test images
                numbers[name]["d_acc"]["low_images"] = d["images"]["ci95"][0]
                numbers[name]["d_acc"]["high_images"] = d["images"]["ci95"][1]
    return numbers


def target_key(target: float) -> str:
    """0.975 -> 'val_acc_0.975' reads badly once DVC flattens keys with dots: 'val_0975'."""
    return f"val_{round(target * 1000):04d}"


def verdicts(plan: Protocol, arms: dict) -> dict[str, dict[str, str]]:
    """Per compared arm, one sentence each on test accuracy and test loss."""
    sentences = {}
    for name, arm in arms.items():
        if "vs_reference" not in arm:
            continue
        reference = plan.reference_of(name)
        sentences[name] = {
            metric: stats.verdict(
                arm["vs_reference"][metric],
                metric.replace("_", " "),
                name,
                reference,
                higher_is_better=metric == "test_acc",
            )
            for metric in ("test_acc", "test_loss")
        }
    return sentences


def intervals(d: dict) -> str:
    """A difference's 95 % intervals for a table: over the seeds, then over seeds and test
    images where the report has one."""
    spans = [d["ci95"]] + ([d["images"]["ci95"]] if d["images"] else [])
    return "; ".join(f"{low:+.4f} to {high:+.4f}" for low, high in spans)


def table(plan: Protocol, arms: dict) -> str:
    """The study in one markdown table, one row per arm, and the anchor rows for scale."""
    n = len(plan.rerun_seeds)
    margin = plan.margins
    targets = " / ".join(f"{t:g}" for t in plan.targets)
    header = [
        "arm",
        "chosen lr",
        f"good lrs (within {plan.good_range * 100:g} pp)",
        f"test acc, {n} seeds",
        "test loss",
        f"epochs to val {targets}",
        f"Δ test acc vs {plan.reference} (95 % CI over seeds; over seeds and images; Holm p)",
        f"equivalent ±{margin['test_acc']:g}?",
        f"Δ test loss vs {plan.reference} (95 % CIs; Holm p)",
        f"equivalent ±{margin['test_loss']:g}?",
        "diverged on the grid",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cells_per_arm = len(plan.lrs) * len(plan.tuning_seeds)
    for name, arm in arms.items():
        good = arm["good_lrs"]
        epochs = " / ".join("—" if e is None else f"{e:g}" for e in arm["epochs_to"].values())
        row = [
            name,
            f"{arm['lr']:g}",
            f"{good['decades']:.2f} decades ({good['low']:g}–{good['high']:g})",
            f"{arm['test_acc']['mean']:.4f} ± {arm['test_acc']['sd']:.4f}",
            f"{arm['test_loss']['mean']:.4f} ± {arm['test_loss']['sd']:.4f}",
            epochs,
        ]
        if "vs_reference" in arm:
            for metric in ("test_acc", "test_loss"):
                d = arm["vs_reference"][metric]
                equivalent = "yes" if d["equivalent"] else "no"
                if d["equivalent_seeds"] and not d["equivalent"]:
                    equivalent = "on these test images only"
                row += [f"{d['mean']:+.4f} ({intervals(d)}; {d['p_holm']:.2g})", equivalent]
        else:
            row += ["reference", "", "reference", ""]
        row.append(f"{round(arm['grid_divergence'] * cells_per_arm)} of {cells_per_arm}")
        lines.append("| " + " | ".join(row) + " |")
    for name, lr, acc in ANCHORS.get(plan.problem.name, []):
        lines.append("| " + " | ".join([name, lr, "", acc] + [""] * (len(header) - 4)) + " |")
    return "\n".join(lines) + "\n"


def across_problems(plan: Protocol, results: dict) -> str:
    """One markdown table of every compared arm on every problem: its test accuracy, the
    differences from its reference with both intervals, and each verdict in brief."""
    header = [
        "problem",
        "arm",
        "test acc (its reference's)",
        "Δ test acc (95 % CI: seeds; seeds and test images)",
        "verdict",
        "Δ test loss (95 % CIs)",
        "verdict",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for problem in plan.problems:
        arms = results[problem.name]
        for name, arm in arms.items():
            if "vs_reference" not in arm:
                continue
            reference = plan.reference_of(name)
            row = [
                DATASETS[problem.name].title,
                name,
                f"{arm['test_acc']['mean']:.4f} ({arms[reference]['test_acc']['mean']:.4f})",
            ]
            for metric in ("test_acc", "test_loss"):
                d = arm["vs_reference"][metric]
                brief = stats.in_brief(d, name, reference, higher_is_better=metric == "test_acc")
                row += [f"{d['mean']:+.4f} ({intervals(d)})", brief]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
