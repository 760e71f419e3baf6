import numpy as np
import pandas as pd
import pytest

from mnist_pipeline import figures, scores


def test_scores_on_a_known_confusion():
    actual = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0, 2])
    counts = scores.confusion_matrix(actual, predicted)
    assert counts[0, 0] == 3 and counts[0, 1] == 1 and counts[2, 0] == 1 and counts.sum() == 10
    s = scores.scores(actual, predicted)
    assert s["acc"] == 0.8
    assert s["per_class_acc"]["0"] == 0.75 and s["per_class_acc"]["1"] == 1.0
    # Precision of class 0: 3 of the 4 predicted zeros; classes 3-9 never occur and count 0.
    assert s["precision"] == pytest.approx((0.75 + 2 / 3 + 1.0) / 10)
    assert s["recall"] == pytest.approx((0.75 + 1.0 + 0.75) / 10)


def test_figures_are_byte_deterministic(tmp_path):
    history = pd.DataFrame(
        {
            "epoch": [1, 2],
            "train_loss": [0.3, 0.1],
            "train_acc": [0.9, 0.97],
            "val_loss": [0.35, 0.2],
            "val_acc": [0.88, 0.95],
        }
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    actual, predicted = rng.integers(0, 10, 50), rng.integers(0, 10, 50)
    makers = {
        "curves": lambda: figures.curves(history, "sgd"),
        "compare": lambda: figures.compare({"adam": history, "sgd": history}),
        "confusion": lambda: figures.confusion(actual, predicted, "sgd"),
        "misclassified": lambda: figures.misclassified(images, actual, predicted, "sgd"),
    }
    for name, make in makers.items():
        figures.save(make(), tmp_path / f"{name}-1.png")
        figures.save(make(), tmp_path / f"{name}-2.png")
        first = (tmp_path / f"{name}-1.png").read_bytes()
        assert first[:8] == b"\x89PNG\r\n\x1a\n"
        assert first == (tmp_path / f"{name}-2.png").read_bytes(), name
