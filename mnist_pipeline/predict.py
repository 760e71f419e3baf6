"""Classify digit images a person drew or photographed, with a model the pipeline trained.

    python -m mnist_pipeline.predict models/sgd.pt my_digit.png other.jpg
    python -m mnist_pipeline.predict models/adam.pt *.png --json
    python -m mnist_pipeline.predict --repo PATH_OR_URL --rev mnist-sgd@v1.0.0 models/sgd.pt a.png

Any size, RGB or grey, dark ink on light paper or light on dark. Each image is turned into what
MNIST digits look like: white digit on black, cropped to the ink, scaled so its longer side is
20 pixels, and placed in a 28x28 square with its centre of mass in the middle. An image that is
already 28x28 and light-on-dark is taken as it is, like the test set. It runs with the CPU
kernels and threads of `params.yaml`, so it scores as `evaluate` does: the project folder's, or
with --repo, the model and `params.yaml` of that DVC repository at --rev (a release tag, a
branch, a commit), fetched from its DVC remote when its cache does not have them.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_pipeline import cli, datasets, params, runtime
from mnist_pipeline.errors import UserError

SIZE, BOX = 28, 20  # MNIST: a 20x20 digit centred by mass in a 28x28 image
# Ink spanning less than this share of the image's longer side, or a single pixel, is a speck
# (dust, noise), not a digit: scaled up to 20 pixels it would still get a confident answer.
MIN_INK_SHARE, MIN_INK_PIXELS = 1 / 20, 2


def read_grey(path: Path) -> np.ndarray:
    """The image as float grey levels 0-255, upright as a viewer shows it; transparent pixels
    count as white paper."""
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)  # phones store sideways pixels and a tag
            if image.mode.startswith("I;16"):  # converting to L would clip 256-65535 to white
                return np.asarray(image, dtype=np.float64) / 257
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                paper = Image.new("RGBA", image.size, "white")
                image = Image.alpha_composite(paper, image.convert("RGBA"))
            return np.asarray(image.convert("L"), dtype=np.float64)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Image.DecompressionBombError:
        raise UserError(
            f"{path}: too large to open safely: more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels"
        ) from None
    except (UnidentifiedImageError, OSError) as error:
        raise UserError(f"{path}: not an image that can be read ({error})") from None


def to_mnist(grey: np.ndarray, path: Path) -> np.ndarray:
    """A uint8 28x28 light-on-dark digit, centred by mass the way MNIST digits are."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 127:  # dark ink on light paper: MNIST is the other way round
        grey, border = 255 - grey, 255 - border
    ink = np.clip(grey - np.median(border), 0, None)  # the paper's own grey is not ink
    # The same two rules at every size, MNIST's own included: a blank or specked 28x28 image
    # would otherwise reach the model, which answers something for anything.
    if ink.max() < 32:
        raise UserError(f"{path}: no digit found: the image is nearly uniform")
    rows, cols = np.nonzero(ink > 0.25 * ink.max())
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    if max(ink.shape) < max(MIN_INK_PIXELS, MIN_INK_SHARE * max(grey.shape)):
        raise UserError(
            f"{path}: no digit found: only a speck of ink, {ink.shape[1]}x{ink.shape[0]} px"
        )
    if grey.shape == (SIZE, SIZE):  # already an MNIST digit: taken as it is, like the test set
        return grey.astype(np.uint8)
    ink *= 255 / ink.max()
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(image), 0, 255)
    # Shift so the centre of mass lands on the middle pixel, as far as the square allows.
    offset = np.round((SIZE - 1) / 2 - centre_of_mass(digit)).astype(int)
    top, left = np.clip(offset, 0, SIZE - np.array(digit.shape))
    canvas = np.zeros((SIZE, SIZE))
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return canvas.round().astype(np.uint8)


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    """(row, column) of the intensity-weighted mean position."""
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def fetch(repo: str, rev: str | None, model: Path, folder: Path) -> tuple[Path, dict]:
    """The model file and params of the DVC repository `repo` at `rev`, as `dvc get` would
    fetch them: the model saved into `folder` under its own name."""
    import dvc.api

    where = f"{repo}@{rev}" if rev else repo
    try:
        data = dvc.api.read(model.as_posix(), repo=repo, rev=rev, mode="rb")
        text = dvc.api.read(params.PARAMS_FILE, repo=repo, rev=rev)
    except Exception as error:  # DVC and scmrepo raise many kinds: no repo, rev, path, remote
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{where}: cannot fetch {model} and {params.PARAMS_FILE} ({why})") from None
    (folder / model.name).write_bytes(data)
    values = yaml.safe_load(text)
    if not isinstance(values, dict):
        raise UserError(f"{where}: {params.PARAMS_FILE}: expected a mapping of settings")
    return folder / model.name, values


def main(args) -> None:
    if args.rev and not args.repo:
        raise UserError("--rev needs --repo: the DVC repository to read the model from")
    with tempfile.TemporaryDirectory() as folder:
        if args.repo:
            model_file, values = fetch(args.repo, args.rev, args.model, Path(folder))
        elif not Path(params.PARAMS_FILE).is_file():
            raise UserError(
                f"{params.PARAMS_FILE}: not in this folder: run in the project that trained "
                f"{args.model}, or give --repo with its path or URL (and --rev) to read the "
                "model and its settings from there"
            )
        else:
            model_file, values = args.model, params.load()
        classify(model_file, params.runtime(values), args)


def classify(model_file: Path, settings: params.Runtime, args) -> None:
    runtime.pin_cpu_kernels(settings.cpu_kernels)  # before torch loads, as in evaluate
    import torch

    from mnist_pipeline.model import load, logits

    runtime.start(settings.threads, "cpu")
    model, training = load(model_file)
    read = datasets.of_model(training, args.model)
    digits = np.stack([to_mnist(read_grey(path), path) for path in args.images])
    probabilities = torch.softmax(logits(model, torch.from_numpy(digits)), dim=1)
    cli.log(f"predict: {args.model} reads {read.title} ({', '.join(read.classes)})")
    # A digit model answers with the digit, as it always has; another with the class's name.
    key = "digit" if read.name == "mnist" else "class"
    results = [
        {
            "file": str(path),
            key: int(p.argmax()) if key == "digit" else read.classes[int(p.argmax())],
            "probability": round(float(p.max()), 4),
        }
        for path, p in zip(args.images, probabilities, strict=True)
    ]
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for result in results:
            print(f"{result['file']}: {result[key]} ({result['probability']:.1%})")


def command() -> None:
    """`python -m mnist_pipeline.predict`, and the `mnist-predict` command `pip install .` makes."""
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a model file from train_adam or train_sgd")
    parser.add_argument("images", type=Path, nargs="+", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--repo", help="read MODEL and params.yaml from this DVC repository")
    parser.add_argument("--rev", help="with --repo: a tag (a release), branch or commit")
    cli.run(main, parser)


if __name__ == "__main__":
    command()
