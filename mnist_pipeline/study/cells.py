"""One cell of the study: its seed's split, a fresh MLP, the training loop, a JSON result.

A rerun's result also holds, image by image, the test loss and whether the image was classified
right, packed small (mnist_pipeline.study.images): what lets the report resample the test images
as well as the seeds.

The same `run` serves DVC, which runs a cell's stage command in a process of its own, and the
engine, which runs many cells one after another in each worker process. A cell depends on its
seed alone (the split, `torch.manual_seed` before the weights are drawn, the batch order), never
on what ran before it in the process, so both ways write the same bytes.
"""

import functools
from pathlib import Path

from mnist_pipeline import dataset
from mnist_pipeline.dataset import Split
from mnist_pipeline.files import write_json
from mnist_pipeline.study.images import pack
from mnist_pipeline.study.protocol import CHANCE, Cell, Protocol


@functools.cache
def raw_splits(raw_dir: Path) -> tuple[Split, Split]:
    """The 60,000 training and 10,000 test examples, read once per process (and copied out of
    the file's read-only buffer: torch wants arrays it could write to)."""
    return tuple(Split(s.images.copy(), s.labels.copy()) for s in dataset.read_raw(raw_dir))


@functools.lru_cache(maxsize=2)  # a worker runs a seed's cells one after another
def seeded_split(raw_dir: Path, val_size: int, seed: int) -> tuple[Split, Split, dict]:
    """Train and validation splits drawn by `seed` (as `preprocess` draws them), and the
    train pixel stats the model normalises with."""
    full, _ = raw_splits(raw_dir)
    train_idx, val_idx = dataset.stratified_split(full.labels, val_size, seed)
    train = Split(full.images[train_idx], full.labels[train_idx])
    val = Split(full.images[val_idx], full.labels[val_idx])
    return train, val, dataset.pixel_stats(train.images)


def run(cell: Cell, lr: float, protocol: Protocol, hidden: int, raw_dir: Path, device, out: Path):
    """Train `cell` at `lr` on the problem's files in `raw_dir` and write its result to `out`:
    the validation curve, whether it diverged and, for a rerun, the test scores, overall and
    image by image. Torch must already be set up (runtime.start)."""
    import torch

    from mnist_pipeline.evaluation import loss_and_accuracy, per_image, to_tensors
    from mnist_pipeline.model import MLP
    from mnist_pipeline.training import Diverged, fit

    train, val, stats = seeded_split(raw_dir, protocol.val_size, cell.seed)
    torch.manual_seed(cell.seed)
    model = MLP(hidden, stats["mean"], stats["std"]).to(device)
    history = []
    try:
        fit(
            model,
            train,
            val,
            protocol.training(cell.arm, lr),
            cell.seed,
            device,
            on_epoch=history.append,
            measure_train=False,
            progress=False,
        )
        diverged = False
    except Diverged:
        diverged = True
    result = {
        "cell": cell.name,
        "lr": float(lr),
        "diverged": diverged,
        "epochs": [e.epoch for e in history],
        "val_acc": [e.val_acc for e in history],
        "val_loss": [e.val_loss for e in history],
    }
    if cell.stage == "rerun":
        _, test = raw_splits(raw_dir)
        if diverged:
            # A model that knows nothing, scored as chance; it has no per-image record.
            result["test"] = CHANCE
            result["test_images"] = None
        else:
            tensors = to_tensors(test, device)
            loss, acc = loss_and_accuracy(model, *tensors)
            result["test"] = {"acc": acc, "loss": loss}
            result["test_images"] = pack(*per_image(model, *tensors))
    write_json(out, result)
    return result
