"""The training loop: batches sliced from tensors in memory, one optimizer, fully seeded.

Why no Dataset/DataLoader: MNIST fits in 47 MB of uint8. Indexing one tensor with a shuffled
permutation costs microseconds per batch, where a per-sample Dataset with a ToTensor transform
spends most of each step in Python (see benchmark.py for the measured ratio).
"""

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from mnist_pipeline import params
from mnist_pipeline.cli import UserError
from mnist_pipeline.dataset import Split


class Diverged(UserError):
    pass


@dataclass(frozen=True)
class Epoch:
    """One row of the training curves."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float


def make_deterministic(seed: int, threads: int) -> None:
    """Same seed + same thread count + same machine -> the same weights, bit for bit."""
    # cuBLAS needs this set before its first call to be deterministic.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def to_tensors(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(split.images).to(device), torch.from_numpy(split.labels).long().to(device)


def make_optimizer(model: torch.nn.Module, cfg: params.Training) -> torch.optim.Optimizer:
    # fused: one kernel for the whole update instead of a loop over tensors (2.4x faster Adam
    # step on CPU at batch 64, where the update is a large part of each step).
    common = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "fused": True}
    if isinstance(cfg, params.Adam):
        return torch.optim.Adam(model.parameters(), betas=(cfg.beta1, cfg.beta2), **common)
    if isinstance(cfg, params.SGD):
        return torch.optim.SGD(model.parameters(), momentum=cfg.momentum, nesterov=cfg.nesterov, **common)
    raise TypeError(f"no optimizer for {type(cfg).__name__}")


def make_schedule(optimizer: torch.optim.Optimizer, cfg: params.Training, steps: int):
    """Per-step learning rate: constant, or cosine decay to zero over the whole run."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 8192) -> tuple[float, float]:  # fmt: skip
    """Mean cross-entropy and accuracy over a whole split."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start : start + batch_size])
        target = labels[start : start + batch_size]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def fit(model: torch.nn.Module, train: Split, val: Split, cfg: params.Training, seed: int,
        device: torch.device, on_epoch: Callable[[Epoch], None] = lambda epoch: None) -> list[Epoch]:  # fmt: skip
    """Train `model` in place; return one `Epoch` per epoch. Stops at the first NaN/inf loss."""
    images, labels = to_tensors(train, device)
    val_images, val_labels = to_tensors(val, device)
    steps_per_epoch = math.ceil(len(labels) / cfg.batch_size)
    optimizer = make_optimizer(model, cfg)
    schedule = make_schedule(optimizer, cfg, cfg.epochs * steps_per_epoch)
    # Its own generator, so the batch order depends on the seed alone, not on how many random
    # numbers weight initialisation happened to draw.
    order = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        model.train()
        permutation = torch.randperm(len(labels), generator=order).to(device)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{cfg.epochs}", leave=False,
                   disable=None, unit="batch")  # fmt: skip
        for step in bar:
            batch = permutation[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            lr = optimizer.param_groups[0]["lr"]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise Diverged(
                    f"loss became {loss_value} in epoch {epoch} (step {step + 1}) at lr {lr:g}: "
                    f"training diverged, no model written; try a smaller lr"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
        train_loss, train_acc = evaluate(model, images, labels)
        val_loss, val_acc = evaluate(model, val_images, val_labels)
        history.append(Epoch(epoch, train_loss, train_acc, val_loss, val_acc, lr,
                             time.perf_counter() - started))  # fmt: skip
        on_epoch(history[-1])
    return history
