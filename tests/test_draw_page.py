"""The draw-a-digit page's generator, and the page's preprocessing against predict's."""

import base64
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnist_pipeline import draw_page, predict
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.errors import UserError
from mnist_pipeline.model import MLP
from tests.conftest import open_page


def small_model(seed: int, mean: float, std: float) -> MLP:
    torch.manual_seed(seed)
    return MLP(hidden=8, mean=mean, std=std)


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), np.arange(60, dtype=np.uint8) % 10


@pytest.fixture(scope="module")
def models():
    return {"adam": small_model(0, 0.5, 0.25), "sgd": small_model(1, 0.1, 0.3)}


@pytest.fixture(scope="module")
def page_file(models, digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "draw.html"
    path.write_bytes(draw_page.page(models, *digits))
    return path


def embedded(page: bytes) -> dict:
    return json.loads(re.search(rb"const DATA = (.*);\n", page).group(1))


def test_models_of_another_dataset_get_a_page_that_says_so_and_whose_they_are():
    read = {"models/<adam>.pt": DATASETS["fashion-mnist"], "models/sgd.pt": DATASETS["mnist"]}
    page = draw_page.not_for_digits(read).decode()
    assert "<code>models/&lt;adam&gt;.pt</code> reads Fashion-MNIST: T-shirt/top, Trouser" in page
    assert "<code>models/sgd.pt</code> reads MNIST" in page and "<canvas" not in page
    assert page == draw_page.not_for_digits(read).decode()  # the same bytes every time


def test_the_same_models_and_digits_give_the_same_bytes(models, digits):
    assert draw_page.page(models, *digits) == draw_page.page(models, *digits)


def test_each_models_float32_weights_and_normalisation_come_from_the_model(models, digits):
    data = embedded(draw_page.page(models, *digits))["models"]
    for name, model in models.items():
        state = model.state_dict()
        expected = np.concatenate([state[key].numpy().ravel() for key in draw_page.LAYERS])
        weights = np.frombuffer(base64.b64decode(data[name]["weights"]), "<f4")
        assert np.array_equal(weights, expected)
        assert {k: data[name][k] for k in ("hidden", "mean", "std")} == model.config


def test_the_samples_are_the_first_five_test_digits_of_each_class(models, digits):
    images, labels = digits
    samples = embedded(draw_page.page(models, images, labels))["samples"]
    assert sorted(samples["labels"]) == sorted(list(range(10)) * 5)
    assert samples["index"] == list(range(50))  # the labels here cycle through 0-9
    pixels = np.frombuffer(base64.b64decode(samples["pixels"]), np.uint8).reshape(-1, 28, 28)
    assert np.array_equal(pixels, images[samples["index"]])


def test_opening_the_page_requests_nothing_but_the_file(browser, page_file):
    context = browser.new_context()
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(page_file.as_uri())
    assert page.evaluate("typeof window.classify") == "function"
    assert requested == [page_file.as_uri()]


def drawing(kind: str) -> np.ndarray:
    """Grey levels of a 7 or a 1 of the kind a user draws or photographs."""
    if kind == "dark seven on a wide white photo":
        image = Image.new("L", (300, 180), 255)
        ImageDraw.Draw(image).line([(120, 30), (190, 30), (140, 160)], fill=20, width=9)
    elif kind == "light one on black, off-centre":
        image = Image.new("L", (280, 280), 0)
        ImageDraw.Draw(image).line([(60, 40), (75, 200)], fill=255, width=20)
    else:
        image = Image.new("L", (97, 131), 230)  # odd sizes: rounding of the scaled size
        ImageDraw.Draw(image).ellipse([(20, 15), (70, 115)], outline=30, width=6)
    return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize(
    "kind",
    ["dark seven on a wide white photo", "light one on black, off-centre", "grey zero, odd size"],
)
def test_the_page_prepares_a_drawing_as_predict_does(browser, page_file, kind):
    grey = drawing(kind)
    page, errors = open_page(browser, page_file)
    pixels = page.evaluate(
        "([grey, w, h]) => Array.from(window.toMnist(grey, w, h).pixels)",
        [grey.ravel().tolist(), grey.shape[1], grey.shape[0]],
    )
    expected = predict.to_mnist(grey, kind).astype(int)
    # Pillow's Lanczos in C and the page's in JavaScript: the same sums, the same rounding.
    assert np.abs(np.array(pixels).reshape(28, 28) - expected).max() <= 1
    assert not errors


@pytest.mark.parametrize("where", ["blank", "speck"])
def test_the_page_finds_no_digit_where_predict_finds_none(browser, page_file, where):
    grey = np.zeros((280, 280))
    if where == "speck":
        grey[140:143, 140:143] = 255
    with pytest.raises(UserError, match="no digit found"):
        predict.to_mnist(grey, where)
    page, errors = open_page(browser, page_file)
    result = page.evaluate(
        "([grey, w, h]) => window.toMnist(grey, w, h)", [grey.ravel().tolist(), 280, 280]
    )
    assert "pixels" not in result and result["prompt"]
    assert not errors
