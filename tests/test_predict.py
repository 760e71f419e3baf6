import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_pipeline import predict
from mnist_pipeline.errors import UserError


def drawn_one(size=200, ink="black", paper="white", mode="RGB") -> Image.Image:
    image = Image.new(mode, (size, size), paper)
    ImageDraw.Draw(image).line([(120, 30), (110, 170)], fill=ink, width=14)
    return image


def test_mnist_format_passes_through_unchanged():
    digit = np.zeros((28, 28))
    digit[5:20, 12:15] = 255
    assert np.array_equal(predict.to_mnist(digit, "x"), digit.astype(np.uint8))


@pytest.mark.parametrize("ink, paper", [("black", "white"), ("white", "black")])
def test_either_polarity_becomes_a_centred_light_digit_of_20_pixels(ink, paper):
    grey = np.asarray(drawn_one(ink=ink, paper=paper).convert("L"), dtype=float)
    digit = predict.to_mnist(grey, "x")
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # background is black
    rows = np.flatnonzero(digit.max(1) > 64)
    assert 18 <= rows.max() - rows.min() + 1 <= 21  # the long side scaled to ~20 px
    assert np.allclose(predict.centre_of_mass(digit.astype(float)), 13.5, atol=1.0)


def test_transparent_background_counts_as_paper(tmp_path):
    image = drawn_one(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    image.save(tmp_path / "t.png")
    digit = predict.to_mnist(predict.read_grey(tmp_path / "t.png"), "t.png")
    assert digit[0].max() == 0 and digit.max() > 200


def test_a_file_that_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(UserError, match=f"{path}: not an image that can be read"):
        predict.read_grey(path)


def test_a_blank_image_has_no_digit():
    with pytest.raises(UserError, match="blank.png: no digit found"):
        predict.to_mnist(np.full((100, 100), 255.0), "blank.png")
