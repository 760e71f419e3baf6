"""Stage `draw_page`: the offline page where every model reads a digit you draw."""

from pathlib import Path

from mnist_pipeline import cli, dataset, datasets, draw_page
from mnist_pipeline.files import write_bytes
from mnist_pipeline.model import load


def main(args) -> None:
    models, read = {}, {}
    for name, path in args.model:
        models[name], training = load(path)
        read[path] = datasets.of_model(training, path)
    if any(found.name != "mnist" for found in read.values()):
        # Still a page, so the pipeline runs whole on any dataset: it says why it has no canvas.
        write_bytes(args.out, draw_page.not_for_digits(read))
        titles = sorted({found.title for found in read.values()})
        cli.log(f"draw_page: {args.out} says the page is for digits; the models read {titles}")
        return
    test = dataset.load(args.data, "test")
    page = draw_page.page(models, test.images, test.labels)
    write_bytes(args.out, page)
    cli.log(f"draw_page: {args.out}, {len(page):,} bytes, models {', '.join(models)}")


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder written by preprocess")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument(
        "--model",
        nargs=2,
        action="append",
        required=True,
        metavar=("NAME", "MODEL"),
        help="a trained model: its name on the page and its model file",
    )
    cli.run(main, parser)
