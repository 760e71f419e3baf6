"""Stage `evaluate`: score one trained model on the test set, which nothing before has seen."""

from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, dataset, params, runtime
from mnist_pipeline.files import write_csv, write_json


def main(args) -> None:
    settings = params.runtime(params.load())
    runtime.pin_cpu_kernels(settings.cpu_kernels)  # before torch loads, as in training
    from mnist_pipeline.evaluation import scores_and_predictions
    from mnist_pipeline.model import load

    device = runtime.start(settings.threads, settings.device)
    model, _ = load(args.model, device)
    test = dataset.load(args.data, "test")

    metrics, predicted = scores_and_predictions(model, test, device)
    # The settings that made the model are params, which `dvc params diff` and `dvc exp show`
    # already show beside these numbers. Four decimals: accuracies over 10,000 images have no
    # more, and `dvc metrics show` stays narrow.
    write_json(args.metrics, {"test": metrics}, decimals=4)
    write_csv(args.predictions, pd.DataFrame({"actual": test.labels, "predicted": predicted}))
    cli.log(
        f"evaluate: {args.model}: test acc {metrics['acc']:.4f} loss {metrics['loss']:.4f} "
        f"macro F1 {metrics['f1']:.4f} on {runtime.describe(device)}"
    )


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("model", type=Path, help="a model file written by a train stage")
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument("--metrics", type=Path, required=True, help="test metrics (JSON)")
    parser.add_argument(
        "--predictions", type=Path, required=True, help="actual,predicted per test image (CSV)"
    )
    cli.run(main, parser)
