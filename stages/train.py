"""Stages `train_adam` and `train_sgd`: one MLP trained with the optimizer of a params section."""

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, dataset, params
from mnist_pipeline.files import write_csv, write_json

DECIMALS = 6  # enough for any curve; fewer digits than float noise, so the files are stable


def main(args) -> None:
    values = params.load()
    cfg = params.training(values, args.section)
    hidden, runtime, seed = params.model(values).hidden, params.runtime(values), params.seed(values)
    # torch takes seconds and ~800 MB to import: pay that only once the params are known good.
    from mnist_pipeline.model import MLP, pick_device, save
    from mnist_pipeline.training import fit, make_deterministic

    make_deterministic(seed, runtime.threads)
    device = pick_device(runtime.device)
    stats = json.loads((args.data / dataset.STATS_FILE).read_text())
    train, val = dataset.load(args.data, "train"), dataset.load(args.data, "val")
    cli.log(f"{args.section}: {len(train.labels)} train / {len(val.labels)} val images on {device}, "
            f"{runtime.threads} threads, {cfg}")  # fmt: skip

    model = MLP(hidden, stats["mean"], stats["std"]).to(device)
    history = fit(model, train, val, cfg, seed, device, on_epoch=log_epoch(cfg.epochs))

    save(model, args.model, training={"section": args.section, **asdict(cfg)})
    curves = pd.DataFrame([asdict(epoch) for epoch in history]).round(DECIMALS)
    curves["seconds"] = curves["seconds"].round(2)
    write_csv(args.curves, curves)
    last = history[-1]
    # No timings here: they differ run to run and would fill every `dvc metrics diff` with
    # noise. The per-epoch seconds are in the curves CSV.
    write_json(args.metrics, {
        "train": {"loss": round(last.train_loss, DECIMALS), "acc": round(last.train_acc, DECIMALS)},
        "val": {"loss": round(last.val_loss, DECIMALS), "acc": round(last.val_acc, DECIMALS)},
        "epochs": last.epoch,
    })  # fmt: skip


def log_epoch(epochs: int):
    def log(e) -> None:  # e: training.Epoch
        cli.log(f"epoch {e.epoch:>{len(str(epochs))}}/{epochs}  train loss {e.train_loss:.4f} "
                f"acc {e.train_acc:.4f} | val loss {e.val_loss:.4f} acc {e.val_acc:.4f} | "
                f"lr {e.lr:.3g} | {e.seconds:.1f}s")  # fmt: skip

    return log


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("section", help="params.yaml section: train_adam or train_sgd")
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument("--model", type=Path, required=True, help="where to save the model")
    parser.add_argument("--metrics", type=Path, required=True, help="final losses/accuracies (JSON)")
    parser.add_argument("--curves", type=Path, required=True, help="per-epoch curves (CSV)")
    cli.run(main, parser)
