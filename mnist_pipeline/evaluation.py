"""Scoring a trained model on the test set: the numbers `dvc metrics show` compares."""

import time

import numpy as np
import torch
import torch.nn.functional as F

from mnist_pipeline.dataset import Split

CLASSES = 10


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """Logits for every image, in batches that bound memory."""
    model.eval()
    return torch.cat([model(chunk) for chunk in images.split(batch_size)])


def images_per_second(model: torch.nn.Module, images: torch.Tensor, repeats: int = 3) -> float:
    """Inference throughput: the best of a few passes, after a warm-up, to 3 significant digits."""
    predict(model, images[:256])
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        predict(model, images)
        if images.is_cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return float(f"{len(images) / best:.3g}")


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """counts[i, j] = how many images of class i were predicted as j."""
    return np.bincount(actual * CLASSES + predicted, minlength=CLASSES**2).reshape(CLASSES, CLASSES)


def scores(actual: np.ndarray, predicted: np.ndarray, decimals: int = 4) -> dict:
    """Accuracy, macro precision/recall/F1 and per-class accuracy, rounded for stable diffs."""
    counts = confusion_matrix(actual.astype(np.int64), predicted.astype(np.int64))
    hits = np.diag(counts)
    # A class never predicted has no precision; count it as 0 rather than divide by zero.
    precision = np.divide(hits, counts.sum(0), out=np.zeros(CLASSES), where=counts.sum(0) > 0)
    recall = np.divide(hits, counts.sum(1), out=np.zeros(CLASSES), where=counts.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(CLASSES),
                   where=(precision + recall) > 0)  # fmt: skip
    r = lambda x: round(float(x), decimals)  # noqa: E731
    return {
        "acc": r(hits.sum() / counts.sum()),
        "precision": r(precision.mean()),
        "recall": r(recall.mean()),
        "f1": r(f1.mean()),
        # Per-class accuracy is per-class recall: the share of each digit recognised.
        "per_class_acc": {str(digit): r(value) for digit, value in enumerate(recall)},
    }


def evaluate(model: torch.nn.Module, test: Split, device: torch.device) -> tuple[dict, np.ndarray]:
    """Test-set metrics and the predicted class of every test image."""
    images = torch.from_numpy(test.images).to(device)
    labels = torch.from_numpy(test.labels).long().to(device)
    logits = predict(model, images)
    predicted = logits.argmax(1).cpu().numpy()
    metrics = scores(test.labels, predicted)
    metrics["loss"] = round(F.cross_entropy(logits, labels).item(), 4)
    metrics["images_per_second"] = images_per_second(model, images)
    return metrics, predicted


def summary(training: dict, config: dict) -> dict:
    """What a result record needs: which optimizer, with what settings, on what model. The same
    keys for both optimizers, so `dvc metrics show` lines them up (Adam's beta1 is its
    momentum: the decay of its running mean of gradients)."""
    return {
        "optimizer": training["section"].removeprefix("train_"),
        "lr": training["lr"],
        "momentum": training.get("momentum", training.get("beta1")),
        "epochs": training["epochs"],
        "batch_size": training["batch_size"],
        "schedule": training["schedule"],
        "hidden": config["hidden"],
    }
