"""The training loop: batches sliced from tensors in memory, one optimizer, fully seeded.

Why no Dataset/DataLoader: MNIST fits in 47 MB of uint8. Indexing one tensor with a shuffled
permutation costs microseconds per batch, where a per-sample Dataset with a ToTensor transform
spends most of each step in Python (`python -m benchmarks.loop` measures the ratio).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import tqdm

from mnist_pipeline import params
from mnist_pipeline.dataset import Split
from mnist_pipeline.errors import UserError
from mnist_pipeline.evaluation import loss_and_accuracy, to_tensors


class Diverged(UserError):
    pass


@dataclass(frozen=True)
class Epoch:
    """One row of the training curves."""

    epoch: int
    train_loss: float | None  # None when not measured
    train_acc: float | None
    val_loss: float
    val_acc: float
    lr: float
    seconds: float


def make_optimizer(model: torch.nn.Module, cfg: params.Adam | params.SGD) -> torch.optim.Optimizer:
    # fused: one kernel for the whole update instead of a loop over tensors (2.4x faster Adam
    # step on CPU at batch 64, where the update is a large part of each step).
    common = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "fused": True}
    match cfg:
        case params.Adam():
            return torch.optim.Adam(model.parameters(), betas=(cfg.beta1, cfg.beta2), **common)
        case params.SGD():
            return torch.optim.SGD(
                model.parameters(), momentum=cfg.momentum, nesterov=cfg.nesterov, **common
            )


def make_schedule(optimizer: torch.optim.Optimizer, schedule: str, steps: int):
    """Per-step learning rate: constant, or cosine decay to zero over the whole run."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def fit(
    model: torch.nn.Module,
    train: Split,
    val: Split,
    cfg: params.Training,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[Epoch], None] = lambda epoch: None,
    measure_train: bool = True,
    progress: bool = True,
) -> list[Epoch]:
    """Train `model` in place; return one `Epoch` per epoch. Stops at the first NaN/inf loss.

    `measure_train=False` skips the pass over the training set after each epoch (a quarter of
    an epoch's time), for runs that only need the validation curve; `progress=False` hides the
    per-batch bar, for runs side by side in one terminal."""
    images, labels = to_tensors(train, device)
    val_images, val_labels = to_tensors(val, device)
    loop = cfg.loop
    optimizer = make_optimizer(model, cfg.optimizer)
    steps = loop.epochs * math.ceil(len(labels) / loop.batch_size)
    schedule = make_schedule(optimizer, loop.schedule, steps)
    # Its own generator, so the batch order depends on the seed alone, not on how many random
    # numbers weight initialisation happened to draw.
    order = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, loop.epochs + 1):
        started = time.perf_counter()
        lr = train_epoch(
            model,
            optimizer,
            schedule,
            images,
            labels,
            loop.batch_size,
            order,
            desc=f"epoch {epoch}/{loop.epochs}",
            progress=progress,
        )
        train_loss, train_acc = (
            loss_and_accuracy(model, images, labels) if measure_train else (None, None)
        )
        val_loss, val_acc = loss_and_accuracy(model, val_images, val_labels)
        seconds = time.perf_counter() - started
        history.append(Epoch(epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds))
        on_epoch(history[-1])
    return history


def train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    order: torch.Generator,
    desc: str = "epoch",
    progress: bool = True,
) -> float:
    """One pass over the shuffled data; returns the learning rate of its last step."""
    model.train()
    permutation = torch.randperm(len(labels), generator=order).to(images.device)
    batches = permutation.split(batch_size)
    bar = tqdm(batches, desc=desc, leave=False, disable=None if progress else True, unit="batch")
    for step, batch in enumerate(bar):
        lr = optimizer.param_groups[0]["lr"]
        # index_select, not images[batch]: the same rows at a tenth of the cost on CPU.
        loss = F.cross_entropy(model(images.index_select(0, batch)), labels.index_select(0, batch))
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise Diverged(
                f"loss became {loss_value} in {desc.replace('/', ' of ')} (step {step + 1}) at "
                f"lr {lr:g}: training diverged, no model written; try a smaller lr"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
    return lr
