"""Stages `train_adam` and `train_sgd`: one MLP trained with the optimizer of a params section."""

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, dataset, params, resources, runtime
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.files import write_bytes, write_csv, write_json


def main(args) -> None:
    values = params.load()
    cfg = params.training(values, args.section)
    hidden, seed = params.model(values).hidden, params.seed(values)
    settings, data = params.runtime(values), params.data(values)
    stats = dataset.load_stats(args.data)
    train, val = dataset.load(args.data, "train"), dataset.load(args.data, "val")
    optimizer = type(cfg.optimizer).__name__.lower()
    batch_size = cfg.loop.batch_size
    where = f"{params.PARAMS_FILE}: model.hidden {hidden}, {args.section}.batch_size {batch_size}"
    resources.check_training(hidden, batch_size, len(train.labels), optimizer, where)
    # Before torch loads (it takes seconds and ~800 MB): the kernel pin only works then, and
    # a bad param or a model too big for the machine is reported without the wait.
    runtime.pin_cpu_kernels(settings.cpu_kernels)
    from mnist_pipeline.model import MLP, save
    from mnist_pipeline.training import fit

    device = runtime.start(settings.threads, settings.device, seed)
    cli.log(
        f"{args.section}: {len(train.labels)} train / {len(val.labels)} val images of "
        f"{DATASETS[data.dataset].title} on "
        f"{runtime.describe(device)}, {settings.threads} threads\n"
        f"{args.section}: {cfg.optimizer}, {cfg.loop}"
    )

    model = MLP(hidden, stats["mean"], stats["std"]).to(device)
    history = []

    def on_epoch(epoch) -> None:  # epoch: training.Epoch
        history.append(epoch)
        # The curves and metrics so far, after every epoch: `dvc exp show` (and the VS Code
        # extension) reads them from a running experiment's folder, so a queued run shows its
        # progress epoch by epoch.
        write_progress(history, args.curves, args.metrics)
        log_epoch(epoch, cfg.loop.epochs)

    # A run that stops early (Ctrl-C, a diverging loss) leaves these files as it found them:
    # no curves of a model that was never saved.
    found = {p: p.read_bytes() if p.exists() else None for p in (args.curves, args.metrics)}
    try:
        fit(model, train, val, cfg, seed, device, on_epoch=on_epoch)
        save(model, args.model, training=record(args.section, cfg, data.dataset))
    except BaseException:
        for path, data in found.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_bytes(path, data)
        raise


def write_progress(history: list, curves_csv: Path, metrics_json: Path) -> None:
    """The per-epoch curves and the last epoch's metrics. Seconds are printed, never written:
    they differ run to run, and DVC would record a new output (and `dvc metrics diff` a change)
    for a model that is byte for byte the same."""
    curves = pd.DataFrame([asdict(epoch) for epoch in history]).drop(columns="seconds")
    write_csv(curves_csv, curves)
    last = history[-1]
    write_json(
        metrics_json,
        {
            "train": {"loss": last.train_loss, "acc": last.train_acc},
            "val": {"loss": last.val_loss, "acc": last.val_acc},
            "epochs": last.epoch,
        },
    )


def record(section: str, cfg: params.Training, dataset_name: str) -> dict:
    """How the model was trained, kept in its file: the params section, flat, and the dataset
    with its class names, which `evaluate`, `predict` and the draw page read the model with. The
    keys keep their order from one run to the next, because the order is part of the file's
    bytes."""
    settings = {**asdict(cfg.optimizer), **asdict(cfg.loop)}
    first = ("lr", "epochs", "batch_size", "weight_decay", "schedule")
    return {
        "section": section,
        **{key: settings.pop(key) for key in first},
        **settings,
        "dataset": dataset_name,
        "classes": list(DATASETS[dataset_name].classes),
    }


def log_epoch(e, epochs: int) -> None:  # e: training.Epoch
    cli.log(
        f"epoch {e.epoch:>{len(str(epochs))}}/{epochs}  train loss {e.train_loss:.4f} "
        f"acc {e.train_acc:.4f} | val loss {e.val_loss:.4f} acc {e.val_acc:.4f} | "
        f"lr {e.lr:.3g} | {e.seconds:.1f}s"
    )


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("section", help="params.yaml section: train_adam or train_sgd")
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument("--model", type=Path, required=True, help="where to save the model")
    parser.add_argument(
        "--metrics", type=Path, required=True, help="final losses/accuracies (JSON)"
    )
    parser.add_argument("--curves", type=Path, required=True, help="per-epoch curves (CSV)")
    cli.run(main, parser)
