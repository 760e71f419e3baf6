"""Scoring a trained model on the test set: the numbers `dvc metrics show` compares."""

import numpy as np
import torch
import torch.nn.functional as F

from mnist_pipeline.dataset import Split
from mnist_pipeline.model import logits
from mnist_pipeline.scores import scores


def evaluate(model: torch.nn.Module, test: Split, device: torch.device) -> tuple[dict, np.ndarray]:
    """Test-set metrics and the predicted class of every test image."""
    images = torch.from_numpy(test.images).to(device)
    labels = torch.from_numpy(test.labels).long().to(device)
    test_logits = logits(model, images)
    predicted = test_logits.argmax(1).cpu().numpy()
    metrics = scores(test.labels, predicted)
    metrics["loss"] = round(F.cross_entropy(test_logits, labels).item(), 4)
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
