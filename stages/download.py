"""Stage `download`: the four raw IDX files of `data.dataset`, verified against `data.sha256`."""

from pathlib import Path

from mnist_pipeline import cli, params
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.download import download, resolve


def main(args) -> None:
    data = params.data(params.load())
    download(resolve(data.source, DATASETS[data.dataset]), data.sha256, args.out_dir, data.dataset)


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("out_dir", type=Path, help="folder for the four uncompressed IDX files")
    cli.run(main, parser)
