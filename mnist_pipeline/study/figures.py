"""The study's PNGs: lr sensitivity, tuning budget, the paired differences, learning curves.

Colour is the optimizer, line style the batch size. Rendered like the pipeline's figures
(mnist_pipeline.figures.save): the same inputs give the same bytes.
"""

import numpy as np
import pandas as pd

from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.figures import plt  # the pipeline's figures set the file-only backend
from mnist_pipeline.study.protocol import Protocol

COLORS = {"sgd": "tab:gray", "momentum": "tab:blue", "adam": "tab:green"}
STYLES = {64: "--", 128: "-", 256: ":"}
# The accuracy axes start this far below the problem's lowest speed target (MNIST: 0.90): the
# runs that matter fill the plot, and a mean below the floor is drawn on the axis, not off it.
BELOW_TARGETS = 0.075


def floor(plan: Protocol) -> float:
    return round(min(plan.targets) - BELOW_TARGETS, 2)


def problem(plan: Protocol) -> str:
    """The problem's name as people write it, for the titles."""
    return DATASETS[plan.problem.name].title


def style(plan: Protocol, name: str) -> dict:
    arm = plan.arm(name)
    return {
        "color": COLORS.get(arm.optimizer),
        "linestyle": STYLES.get(arm.batch_size, "-."),
        "label": name,
    }


def panels(plan: Protocol) -> list[tuple[str, list[str]]]:
    """The main comparison (every arm at the reference's most common batch size) and, when the
    protocol has one, the batch-size sensitivity (the optimizers tried at several sizes)."""
    sizes = [arm.batch_size for arm in plan.arms]
    main = max(set(sizes), key=sizes.count)
    first = [arm.name for arm in plan.arms if arm.batch_size == main]
    varied = {a.optimizer for a in plan.arms if a.batch_size != main}
    second = [arm.name for arm in plan.arms if arm.optimizer in varied]
    return [(f"batch {main}", first)] + ([("batch sizes", second)] if second else [])


def panel_axes(plan: Protocol) -> tuple[plt.Figure, list]:
    """A figure with one axes per panel, side by side, and (axes, (title, arm names)) pairs."""
    groups = panels(plan)
    figure, axes = plt.subplots(
        1, len(groups), figsize=(7 * len(groups), 4.5), layout="constrained", squeeze=False
    )
    return figure, list(zip(axes[0], groups, strict=True))


def sensitivity(plan: Protocol, curve: pd.DataFrame, chosen: dict) -> plt.Figure:
    """Mean validation accuracy against lr, a band from the worst to the best tuning seed;
    a star marks the chosen lr, an x each lr where a seed diverged, a triangle a mean below
    the floor of the axis."""
    figure, grid = panel_axes(plan)
    lowest = floor(plan)
    for ax, (title, names) in grid:
        for name in names:
            rows = curve[curve.arm == name]
            look = style(plan, name)
            ax.plot(rows.lr, rows["mean"].clip(lower=lowest), **look)
            ax.fill_between(
                rows.lr,
                rows["min"].clip(lower=lowest),
                rows["max"].clip(lower=lowest),
                color=look["color"],
                alpha=0.12,
            )
            low = rows[rows["mean"] < lowest]
            ax.scatter(low.lr, [lowest] * len(low), marker="v", color=look["color"], zorder=3)
            blown = rows[rows.diverged > 0]
            ax.scatter(
                blown.lr, [lowest + 0.002] * len(blown), marker="x", color=look["color"], zorder=3
            )
            best = rows[rows.lr == chosen[name]]
            ax.scatter(
                best.lr,
                best["mean"],
                marker="*",
                s=160,
                color=look["color"],
                zorder=4,
                edgecolor="black",
            )
        ax.set(
            title=f"{problem(plan)}, lr sensitivity, {title}: mean over "
            f"{len(plan.tuning_seeds)} tuning seeds",
            xscale="log",
            xlabel="learning rate",
            ylabel="final validation accuracy",
            ylim=(lowest - 0.005, None),
        )
        ax.grid(alpha=0.3)
        ax.legend(title="* chosen, x diverged, v below", fontsize=8)
    return figure


def budget(plan: Protocol, table: pd.DataFrame) -> plt.Figure:
    """Expected best validation accuracy after k random trials from the grid, with its 95 %
    bootstrap band."""
    figure, grid = panel_axes(plan)
    for ax, (title, names) in grid:
        for name in names:
            look = style(plan, name)
            ax.plot(table.trials, table[name], **look)
            low, high = table[f"{name} low"], table[f"{name} high"]
            ax.fill_between(table.trials, low, high, color=look["color"], alpha=0.15)
        lo, hi = min(plan.lrs), max(plan.lrs)
        ax.set(
            title=f"{problem(plan)}, tuning budget, {title}: random trials from {lo:g} to {hi:g}",
            xscale="log",
            xlabel="trials (lr drawn from the grid, one seed each)",
            ylabel="expected best validation accuracy, 95 % band",
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return figure


def paired(plan: Protocol, runs: pd.DataFrame, arms: dict) -> plt.Figure:
    """Per rerun seed, each arm's test accuracy and loss minus its reference's; the mean with
    its 95 % CIs, over the seeds (black) and over seeds and test images (grey), and the
    equivalence margin shaded."""
    compared = [name for name in arms if "vs_reference" in arms[name]]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for ax, metric in zip(axes, ("test_acc", "test_loss"), strict=True):
        margin = plan.margins[metric]
        ax.axhspan(-margin, margin, color="0.9", label=f"margin ±{margin:g}")
        ax.axhline(0, color="0.5", linewidth=0.8)
        for x, name in enumerate(compared):
            mine = runs[runs.arm == name].sort_values("seed")
            theirs = runs[runs.arm == plan.reference_of(name)].sort_values("seed")
            differences = mine[metric].to_numpy() - theirs[metric].to_numpy()
            jitter = np.linspace(-0.15, 0.15, len(differences))
            ax.scatter(x + jitter, differences, s=12, color=style(plan, name)["color"], alpha=0.6)
            d = arms[name]["vs_reference"][metric]
            spans = [("black", d["ci95"])] + (
                [("0.55", d["images"]["ci95"])] if d["images"] else []
            )
            for offset, (color, (low, high)) in zip((0.3, 0.42), spans, strict=False):
                ax.errorbar(
                    x + offset,
                    d["mean"],
                    yerr=[[d["mean"] - low], [high - d["mean"]]],
                    fmt="D",
                    color=color,
                    capsize=4,
                )
        ax.set(
            title=f"{problem(plan)}, {metric.replace('_', ' ')}: arm - {plan.reference}, per seed",
            ylabel="difference; mean, 95 % CIs: seeds, seeds and images",
            xticks=range(len(compared)),
            xticklabels=compared,
            xlim=(-0.6, len(compared) - 0.3),
        )
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8, loc="best")
    return figure


def curves(plan: Protocol, runs: pd.DataFrame) -> plt.Figure:
    """Validation accuracy per epoch at the chosen lr, mean ± sd over the rerun seeds."""
    figure, grid = panel_axes(plan)
    for ax, (title, names) in grid:
        for name in names:
            finished = runs[(runs.arm == name) & ~runs.diverged.astype(bool)]
            values = np.array(finished.val_acc.tolist())
            epochs = np.arange(1, values.shape[1] + 1)
            mean, sd = values.mean(0), values.std(0, ddof=1)
            look = style(plan, name)
            ax.plot(epochs, mean, marker="o", markersize=3, **look)
            ax.fill_between(epochs, mean - sd, mean + sd, color=look["color"], alpha=0.15)
        for target in plan.targets:
            ax.axhline(target, color="0.6", linewidth=0.8, linestyle="--")
        ax.set(
            title=f"{problem(plan)}, learning curves, {title}: mean ± sd over "
            f"{len(plan.rerun_seeds)} seeds",
            xlabel="epoch",
            ylabel="validation accuracy",
            ylim=(floor(plan) + 0.05, None),
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return figure
