"""The draw page the pipeline wrote, in headless Chromium: the models PyTorch trained, read from a
canvas drawn with mouse and touch."""

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_pipeline import dataset
from mnist_pipeline.model import load
from tests.conftest import open_page

pytestmark = pytest.mark.e2e

MODELS = ("adam", "sgd")
# Strokes as fractions of the canvas, the way a person draws these digits.
STROKES = {
    "1": [[(0.5, 0.15), (0.47, 0.85)]],
    "7": [[(0.28, 0.22), (0.72, 0.22), (0.45, 0.85)]],
}


@pytest.fixture(scope="module")
def html(trained_project):
    return trained_project / "plots" / "draw.html"


def draw(page, strokes) -> None:
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=10)
        page.mouse.up()


def digits_read(page) -> dict:
    """Each model's digit as the page shows it; "" where it shows none."""
    return {name: page.get_attribute(f'[data-model="{name}"]', "data-digit") for name in MODELS}


def test_the_page_gives_pytorchs_probabilities_for_250_test_digits(browser, html, trained_project):
    images = np.load(trained_project / "data/processed/test-images.npy")[:250]
    page, errors = open_page(browser, html)
    read = page.evaluate("(all) => all.map(window.classify)", images.reshape(250, -1).tolist())
    for name in MODELS:
        model, _ = load(trained_project / "models" / f"{name}.pt")
        with torch.no_grad():
            expected = torch.softmax(model(torch.from_numpy(images)), dim=1).numpy()
        got = np.array([probabilities[name] for probabilities in read])
        assert np.abs(got - expected).max() < 1e-4, name
        assert np.array_equal(got.argmax(1), expected.argmax(1)), name
    assert not errors


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_digit_drawn_with_the_mouse_is_read_by_both_models(browser, html, digit):
    page, errors = open_page(browser, html)
    draw(page, STROKES[digit])
    assert digits_read(page) == {name: digit for name in MODELS}
    assert not errors


def test_an_empty_canvas_prompts_to_draw_instead_of_showing_a_digit(browser, html):
    page, errors = open_page(browser, html)
    draw(page, STROKES["7"])
    page.click("#clear")
    assert digits_read(page) == {name: "" for name in MODELS}
    assert "Draw a digit" in page.text_content("#status")
    assert not errors


def test_after_a_resize_the_canvas_still_reads_where_the_pointer_draws(browser, html):
    page, errors = open_page(browser, html, viewport={"width": 1280, "height": 720})
    page.set_viewport_size({"width": 200, "height": 600})  # the canvas shrinks to 90% of 200
    assert page.locator("#pad").bounding_box()["width"] < 200
    draw(page, STROKES["7"])
    assert digits_read(page) == {name: "7" for name in MODELS}
    assert not errors


def test_a_touch_stroke_draws_a_digit(browser, html):
    page, errors = open_page(browser, html, has_touch=True)
    box = page.locator("#pad").bounding_box()
    touch = page.context.new_cdp_session(page)
    for kind, y in [("touchStart", 0.15)] + [("touchMove", y / 20) for y in range(4, 18)]:
        point = {"x": box["x"] + 0.5 * box["width"], "y": box["y"] + y * box["height"]}
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert digits_read(page) == {name: "1" for name in MODELS}
    assert not errors


def test_the_sample_button_shows_a_test_digit_with_its_true_label(browser, html, trained_project):
    test = dataset.load(trained_project / "data" / "processed", "test")
    page, errors = open_page(browser, html)
    page.click("#sample")
    shown = re.fullmatch(
        r"Test digit #(\d+): its true label is (\d)\.", page.text_content("#status")
    )
    index, label = int(shown[1]), int(shown[2])
    assert test.labels[index] == label
    seen = page.evaluate(
        "Array.from(document.querySelector('#seen').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"
    )
    assert np.array_equal(np.array(seen).reshape(28, 28), test.images[index])
    assert not errors


def test_a_screenshot_of_the_page_with_a_seven_is_not_blank(browser, html):
    page, errors = open_page(browser, html)
    draw(page, STROKES["7"])
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L"))
    # The white page, the black canvas with the white 7, grey bars: many levels, both extremes.
    assert shot.min() < 30 and shot.max() > 225 and len(np.unique(shot)) > 20
    assert not errors
