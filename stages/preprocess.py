"""Stage `preprocess`: a seeded, stratified train/validation split; uint8 arrays per split."""

from pathlib import Path

from mnist_pipeline import cli, params
from mnist_pipeline.dataset import preprocess


def main(args) -> None:
    values = params.load()
    data, seed = params.data(values), params.seed(values)
    sizes = preprocess(args.raw_dir, args.out_dir, data.val_size, seed)
    cli.log("preprocess: " + ", ".join(f"{name} {size}" for name, size in sizes.items()))


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("raw_dir", type=Path, help="folder with the four raw IDX files")
    parser.add_argument("out_dir", type=Path, help="folder for the processed .npy arrays")
    cli.run(main, parser)
