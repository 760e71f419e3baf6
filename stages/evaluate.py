"""Stage `evaluate`: score trained models on the test set, which nothing before has seen."""

from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, dataset, datasets, params, runtime
from mnist_pipeline.files import write_csv, write_json


def main(args) -> None:
    settings = params.runtime(params.load())
    runtime.pin_cpu_kernels(settings.cpu_kernels)  # before torch loads, as in training
    from mnist_pipeline.evaluation import scores_and_predictions
    from mnist_pipeline.model import load

    device = runtime.start(settings.threads, settings.device)
    test = dataset.load(args.data, "test")
    # All models in one process: Python and torch start once (~1.1 s each time on 2 cores).
    for model_path, metrics_path, predictions_path in args.run:
        model, training = load(model_path, device)
        classes = datasets.of_model(training, model_path).classes
        metrics, predicted = scores_and_predictions(model, test, device)
        # Per class by its name, so a diff of two data versions never pairs a digit with a coat.
        metrics["per_class_acc"] = {
            classes[int(label)]: value for label, value in metrics["per_class_acc"].items()
        }
        # The settings that made the model are params, which `dvc params diff` and `dvc exp show`
        # already show beside these numbers. Four decimals: accuracies over 10,000 images have
        # no more, and `dvc metrics show` stays narrow.
        write_json(metrics_path, {"test": metrics}, decimals=4)
        # By class name, so `dvc plots` labels its confusion matrix with them (MNIST's are its
        # digits: the same bytes as the labels themselves).
        named = {"actual": test.labels, "predicted": predicted}
        write_csv(
            predictions_path,
            pd.DataFrame({key: [classes[i] for i in labels] for key, labels in named.items()}),
        )
        cli.log(
            f"evaluate: {model_path}: test acc {metrics['acc']:.4f} loss {metrics['loss']:.4f} "
            f"macro F1 {metrics['f1']:.4f} on {runtime.describe(device)}"
        )


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument(
        "--run",
        nargs=3,
        type=Path,
        action="append",
        required=True,
        metavar=("MODEL", "METRICS_JSON", "PREDICTIONS_CSV"),
        help="a model file written by a train stage, where to write its test metrics (JSON) and "
        "its actual,predicted per test image (CSV)",
    )
    cli.run(main, parser)
