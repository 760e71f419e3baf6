"""Measuring a trained model: the loss and accuracy training tracks each epoch, and the test-set
report that `evaluate` writes for `dvc metrics show`."""

import numpy as np
import torch
import torch.nn.functional as F

from mnist_pipeline.dataset import Split
from mnist_pipeline.model import logits
from mnist_pipeline.scores import scores


def to_tensors(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw uint8 images (the model normalises them) and int64 labels, as cross_entropy wants."""
    images = torch.from_numpy(split.images).to(device)
    return images, torch.from_numpy(split.labels).long().to(device)


def loss_and_accuracy(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split."""
    split_logits = logits(model, images)
    accuracy = (split_logits.argmax(1) == labels).sum().item() / len(labels)
    return F.cross_entropy(split_logits, labels).item(), accuracy


def per_image(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's cross-entropy (float32) and whether the model got it right: what a paired
    comparison of two models over the same test images resamples."""
    split_logits = logits(model, images)
    losses = F.cross_entropy(split_logits, labels, reduction="none")
    return losses.cpu().numpy(), (split_logits.argmax(1) == labels).cpu().numpy()


def scores_and_predictions(
    model: torch.nn.Module, split: Split, device: torch.device
) -> tuple[dict, np.ndarray]:
    """The scores on `split` (loss, accuracy, macro precision/recall/F1, per-class accuracy) and
    the predicted class of every image."""
    images, labels = to_tensors(split, device)
    split_logits = logits(model, images)
    predicted = split_logits.argmax(1).cpu().numpy()
    loss = F.cross_entropy(split_logits, labels).item()
    return {**scores(split.labels, predicted), "loss": loss}, predicted
