"""Stage `download`: the four raw IDX files of `data.dataset`, verified against `data.sha256`.

The study's `data@PROBLEM` stages run it too, with --dataset naming the problem."""

from pathlib import Path

from mnist_pipeline import cli, params
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.download import download, resolve


def main(args) -> None:
    data = params.data(params.load())
    dataset = args.dataset or data.dataset
    download(resolve(data.source, DATASETS[dataset]), data.sha256, args.out_dir, dataset)


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("out_dir", type=Path, help="folder for the four uncompressed IDX files")
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        help="this dataset's files instead of data.dataset's (its pins in data.sha256 decide)",
    )
    cli.run(main, parser)
