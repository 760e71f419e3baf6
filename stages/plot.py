"""Stage `plot`: PNG figures of every run, for the README and `dvc plots show`."""

from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, dataset, figures, params
from mnist_pipeline.datasets import DATASETS


def main(args) -> None:
    classes = DATASETS[params.data(params.load()).dataset].classes
    # `evaluate` writes each prediction by its class name; the figures count by label.
    label = {class_name: i for i, class_name in enumerate(classes)}
    test = dataset.load(args.data, "test")
    histories = {}
    for name, curves_csv, predictions_csv in args.run:
        histories[name] = history = pd.read_csv(curves_csv)
        predictions = pd.read_csv(predictions_csv, dtype=str)
        actual, predicted = (
            predictions[key].map(label).to_numpy() for key in ("actual", "predicted")
        )
        figures.save(figures.curves(history, name), args.out / f"{name}_curves.png")
        figures.save(
            figures.confusion(actual, predicted, name, classes), args.out / f"{name}_confusion.png"
        )
        figures.save(
            figures.misclassified(test.images, actual, predicted, name, classes),
            args.out / f"{name}_misclassified.png",
        )
    figures.save(figures.compare(histories), args.out / "compare_curves.png")
    cli.log(f"plot: {len(list(args.out.glob('*.png')))} figures in {args.out}")


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.add_argument(
        "--run",
        nargs=3,
        action="append",
        required=True,
        metavar=("NAME", "CURVES_CSV", "PREDICTIONS_CSV"),
        help="one trained model: its name, training curves and test predictions",
    )
    cli.run(main, parser)
