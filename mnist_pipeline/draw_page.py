"""The draw-a-digit page: one HTML file, opened from disk, where every model reads a digit you
draw (mouse, touch or pen) as you draw it.

`draw_page.html` beside this module holds the markup, style and script; `page` fills in each
model's weights and normalisation (from its model file's config, so the script holds no MNIST
constants) and a few test digits for the "sample" button. The weights stay float32, base64:
~540 KB per model, so the page computes what PyTorch computes (probabilities within ~2e-6 over
the 10,000 test digits, the same predicted digit for all) rather than a float16 copy's answers.
The script prepares a drawing as `predict.to_mnist` does an image file, Pillow's Lanczos
resampling included.
"""

import base64
import html
import json
from pathlib import Path

import numpy as np

TEMPLATE = Path(__file__).with_name("draw_page.html")
PLACEHOLDER = "/*DATA*/null"
SAMPLES_PER_CLASS = 5
# The state-dict keys of model.MLP in the order the script reads them from one float32 buffer.
LAYERS = ("layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias")


def b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")


def model_data(model) -> dict:
    """The config (hidden units, pixel mean and std) and every weight, little-endian float32."""
    state = model.state_dict()
    weights = np.concatenate([state[key].numpy().astype("<f4").ravel() for key in LAYERS])
    return {**model.config, "weights": b64(weights)}


def samples(images: np.ndarray, labels: np.ndarray) -> dict:
    """The first few test digits of each class, in test-set order, with their labels."""
    chosen = np.sort(
        np.concatenate([np.flatnonzero(labels == c)[:SAMPLES_PER_CLASS] for c in range(10)])
    )
    return {
        "index": chosen.tolist(),
        "labels": labels[chosen].tolist(),
        "pixels": b64(images[chosen].astype(np.uint8)),
    }


def page(models: dict, images: np.ndarray, labels: np.ndarray) -> bytes:
    """The page's bytes: the same models and digits always give the same bytes."""
    data = {
        "models": {name: model_data(model) for name, model in models.items()},
        "samples": samples(images, labels),
    }
    # Base64, digits and names only: nothing in the JSON can close the <script> it sits in.
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    template = TEMPLATE.read_text(encoding="utf-8")
    assert template.count(PLACEHOLDER) == 1, f"{TEMPLATE}: expected one {PLACEHOLDER}"
    return template.replace(PLACEHOLDER, text).encode("utf-8")


def not_for_digits(read: dict) -> bytes:
    """The page in place of the draw page when the models read something other than digits
    (`read`: each model's file and its `datasets.Dataset`): what they read, and where to go."""
    lines = "".join(
        f"<li><code>{html.escape(str(path))}</code> reads {html.escape(dataset.title)}: "
        f"{html.escape(', '.join(dataset.classes))}</li>"
        for path, dataset in read.items()
    )
    return (
        '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Draw a digit</title>\n'
        "<h1>Draw a digit: not for these models</h1>\n"
        "<p>This page reads digits you draw, and the models are not digit models:</p>\n"
        f"<ul>{lines}</ul>\n"
        "<p>Set <code>data.dataset: mnist</code> in params.yaml and run <code>dvc repro</code> "
        "for the page, or classify your own pictures with "
        "<code>python -m mnist_pipeline.predict MODEL IMAGE...</code></p>\n</html>\n"
    ).encode()
