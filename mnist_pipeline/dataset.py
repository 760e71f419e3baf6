"""From the four raw IDX files to train / validation / test arrays, and back from disk.

The processed arrays stay uint8 (a quarter of float32); normalisation happens in the model with
the train-split mean and std saved beside them, so a saved model takes raw pixels.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_pipeline import idx
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import atomic_path, write_json

STATS_FILE = "stats.json"


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) uint8


def read_raw(raw_dir: Path) -> tuple[Split, Split]:
    """The 60k training and 10k test examples, validated."""
    splits = []
    for prefix in ("train", "t10k"):
        images = idx.read_images(raw_dir / f"{prefix}-images-idx3-ubyte")
        labels_path = raw_dir / f"{prefix}-labels-idx1-ubyte"
        labels = idx.read_labels(labels_path)
        if len(images) != len(labels):
            raise UserError(f"{labels_path}: {len(labels)} labels for {len(images)} images")
        splits.append(Split(images, labels))
    return splits[0], splits[1]


def stratified_split(labels: np.ndarray, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val), sorted, with each class in val in proportion to its frequency.

    Largest-remainder rounding makes the per-class counts add up to exactly `val_size`.
    """
    if not 0 < val_size < len(labels):
        raise UserError(
            f"params.yaml: data.val_size: expected 1 to {len(labels) - 1}, got {val_size}"
        )
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * val_size / len(labels)
    take = np.floor(quotas).astype(int)
    shortfall = val_size - take.sum()
    take[np.argsort(-(quotas - take), kind="stable")[:shortfall]] += 1
    per_class = zip(classes, take, strict=True)
    val = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == cls))[:n] for cls, n in per_class]
    )
    val.sort()
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def pixel_stats(images: np.ndarray) -> dict[str, float]:
    """Mean and std of pixel/255 over a split."""
    pixels = images.astype(np.float64) / 255
    return {"mean": float(pixels.mean()), "std": float(pixels.std())}


def preprocess(raw_dir: Path, out_dir: Path, val_size: int, seed: int) -> dict[str, int]:
    train_full, test = read_raw(raw_dir)
    train_idx, val_idx = stratified_split(train_full.labels, val_size, seed)
    splits = {
        "train": Split(train_full.images[train_idx], train_full.labels[train_idx]),
        "val": Split(train_full.images[val_idx], train_full.labels[val_idx]),
        "test": test,
    }
    for name, split in splits.items():
        for kind in ("images", "labels"):
            with atomic_path(out_dir / f"{name}-{kind}.npy") as tmp, open(tmp, "wb") as f:
                np.save(f, getattr(split, kind))
    write_json(out_dir / STATS_FILE, pixel_stats(splits["train"].images))
    return {name: len(split.labels) for name, split in splits.items()}


def load(processed_dir: Path, split: str) -> Split:
    paths = [processed_dir / f"{split}-{kind}.npy" for kind in ("images", "labels")]
    try:
        images, labels = (np.load(path) for path in paths)
    except (OSError, ValueError) as error:
        raise UserError(f"{processed_dir}: cannot read the {split} split: {error}") from None
    return Split(images, labels)


def load_stats(processed_dir: Path) -> dict[str, float]:
    """The train-split pixel mean and std that `preprocess` saved."""
    path = processed_dir / STATS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read the pixel stats: {error}") from None
