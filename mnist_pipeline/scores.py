"""Classification scores from actual and predicted labels: numpy only, no model needed."""

import numpy as np

CLASSES = 10


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """counts[i, j] = how many images of class i were predicted as j."""
    return np.bincount(actual * CLASSES + predicted, minlength=CLASSES**2).reshape(CLASSES, CLASSES)


def scores(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro precision/recall/F1 and per-class accuracy."""
    counts = confusion_matrix(actual.astype(np.int64), predicted.astype(np.int64))
    hits = np.diag(counts)
    # A class never predicted has no precision; count it as 0 rather than divide by zero.
    precision = np.divide(hits, counts.sum(0), out=np.zeros(CLASSES), where=counts.sum(0) > 0)
    recall = np.divide(hits, counts.sum(1), out=np.zeros(CLASSES), where=counts.sum(1) > 0)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros(CLASSES),
        where=(precision + recall) > 0,
    )
    return {
        "acc": float(hits.sum() / counts.sum()),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        # Per-class accuracy is per-class recall: the share of each digit recognised.
        "per_class_acc": {str(digit): float(value) for digit, value in enumerate(recall)},
    }
