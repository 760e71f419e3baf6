"""The PNG figures: training curves, Adam vs SGD, confusion matrices, misclassified images.

Rendered with the Agg backend and no metadata beyond matplotlib's version, so the same inputs
give the same bytes and DVC sees nothing new when nothing changed.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window: works on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mnist_pipeline.datasets import DATASETS  # noqa: E402
from mnist_pipeline.files import atomic_path  # noqa: E402
from mnist_pipeline.scores import confusion_matrix  # noqa: E402

COLORS = {"train": "tab:blue", "val": "tab:orange", "adam": "tab:green", "sgd": "tab:purple"}
DIGITS = DATASETS["mnist"].classes


def are_digits(classes: tuple[str, ...]) -> bool:
    """One character a class: labels that fit where a digit does."""
    return all(len(label) == 1 for label in classes)


def save(figure: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)


def curves(history: pd.DataFrame, name: str) -> plt.Figure:
    """Train vs validation loss and accuracy: where they part, the model starts to overfit."""
    figure, (loss, acc) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for split in ("train", "val"):
        label = "train" if split == "train" else "validation"
        loss.plot(
            history.epoch, history[f"{split}_loss"], marker="o", color=COLORS[split], label=label
        )
        acc.plot(
            history.epoch, history[f"{split}_acc"], marker="o", color=COLORS[split], label=label
        )
    loss.set(title=f"{name}: loss", xlabel="epoch", ylabel="cross-entropy", yscale="log")
    acc.set(title=f"{name}: accuracy", xlabel="epoch", ylabel="accuracy")
    for axes in (loss, acc):
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def compare(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """The optimizers overlaid on the curves that tell them apart."""
    panels = [
        ("val_loss", "validation loss", "log"),
        ("val_acc", "validation accuracy", "linear"),
        ("train_loss", "training loss", "log"),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
    for ax, (column, title, scale) in zip(axes, panels, strict=True):
        for name, history in histories.items():
            ax.plot(history.epoch, history[column], marker="o", color=COLORS.get(name), label=name)
        ax.set(title=title, xlabel="epoch", yscale=scale)
        ax.grid(alpha=0.3)
        ax.legend()
    return figure


def confusion(
    actual: np.ndarray, predicted: np.ndarray, name: str, classes: tuple[str, ...] = DIGITS
) -> plt.Figure:
    counts = confusion_matrix(actual, predicted)
    figure, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
    # Log colour scale: the off-diagonal mistakes (tens) stay visible next to the ~1000 hits.
    image = ax.imshow(counts + 1, cmap="Blues", norm=matplotlib.colors.LogNorm())
    for (i, j), count in np.ndenumerate(counts):
        if count:
            ax.text(
                j,
                i,
                count,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if i == j else "black",
            )
    ax.set(
        title=f"{name}: confusion matrix ({(actual != predicted).sum()} errors)",
        xlabel="predicted",
        ylabel="actual",
        xticks=range(len(classes)),
        yticks=range(len(classes)),
    )
    if not are_digits(classes):  # names: slanted to fit
        ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(classes, fontsize=8)
    figure.colorbar(image, ax=ax, label="images + 1")
    return figure


def misclassified(
    images: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    name: str,
    classes: tuple[str, ...] = DIGITS,
    rows: int = 4,
    cols: int = 8,
) -> plt.Figure:
    """The first test images the model got wrong, with what it said."""
    digits = are_digits(classes)
    wrong = np.flatnonzero(actual != predicted)[: rows * cols]
    figure, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.5), layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[index], cmap="gray_r")
        true, said = classes[actual[index]], classes[predicted[index]]
        ax.set_title(f"true {true}\npred {said}", fontsize=9 if digits else 7)
    figure.suptitle(
        f"{name}: misclassified test {'digits' if digits else 'images'} (first {len(wrong)})"
    )
    return figure
