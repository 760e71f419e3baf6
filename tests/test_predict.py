import argparse
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mnist_pipeline import predict
from mnist_pipeline.errors import UserError
from tests.strategies import assert_one_clear_line


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


def ink_extent(digit: np.ndarray) -> tuple[int, int]:
    """(rows, columns) spanned by the bright pixels of a 28x28 digit."""
    rows, cols = np.flatnonzero(digit.max(1) > 64), np.flatnonzero(digit.max(0) > 64)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_a_photo_rotated_by_its_exif_tag_is_read_upright(tmp_path):
    # Phones store the sensor's pixels and an orientation tag; viewers show the picture upright.
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    drawn_one().rotate(90, expand=True).save(tmp_path / "photo.jpg", exif=exif)
    digit = predict.to_mnist(predict.read_grey(tmp_path / "photo.jpg"), "photo.jpg")
    height, width = ink_extent(digit)
    assert height > 2 * width  # a tall 1, not a bar lying on its side


def test_a_16_bit_scan_keeps_its_digit(tmp_path):
    grey = np.full((200, 200), 52000, np.uint16)  # paper and ink levels of a 16-bit scanner
    grey[30:170, 100:114] = 6000
    Image.fromarray(grey).save(tmp_path / "scan.png")
    digit = predict.to_mnist(predict.read_grey(tmp_path / "scan.png"), "scan.png")
    assert ink_extent(digit)[0] >= 18


def test_a_speck_on_blank_paper_has_no_digit():
    paper = np.full((200, 200), 255.0)
    paper[100:102, 100:102] = 0  # dust, not a digit worth scaling up tenfold
    with pytest.raises(UserError, match="speck.png: no digit found"):
        predict.to_mnist(paper, "speck.png")


def png_of_size(path, width: int, height: int) -> None:
    """A valid black 1-bit PNG of any size, written without holding its pixels in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + (width + 7) // 8)  # filter byte, then the packed pixels
    packer = zlib.compressobj()
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_an_image_too_large_to_open_safely_is_a_clear_error(tmp_path):
    path = tmp_path / "huge.png"
    png_of_size(path, 14000, 14000)  # 196 megapixels: more than Pillow opens
    with pytest.raises(UserError, match=f"{path}: too large"):
        predict.read_grey(path)


def test_a_revision_without_a_repository_is_refused_before_any_work():
    args = argparse.Namespace(rev="mnist-sgd@v1.0.0", repo=None, model=Path("m.pt"), images=[])
    with pytest.raises(UserError, match="--rev needs --repo"):
        predict.main(args)


# Property-based: images of any size, mode, bit depth, format and content. Whatever comes in,
# `predict` answers with a 28x28 digit or one line; an image without a digit is never answered.
SIDES = st.integers(1, 40) | st.integers(41, 3000)
# Modes and the lossless formats that store them; the modes whose grey levels survive intact.
FORMATS = {
    "PNG": ("1", "L", "P", "RGB", "RGBA", "LA", "I;16"),
    "TIFF": ("1", "L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F"),
    "BMP": ("1", "L", "P", "RGB"),
    "GIF": ("L", "P"),
}
EXACT = ("L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F")


def in_mode(grey: np.ndarray, mode: str) -> Image.Image:
    """The uint8 grey picture `grey` as an image of `mode`, with the same grey levels."""
    if mode == "I;16":
        return Image.fromarray(grey.astype(np.uint16) * 257)  # 16-bit, the full range
    if mode in ("I", "F"):
        return Image.fromarray(grey.astype(np.int32 if mode == "I" else np.float32))
    image = Image.fromarray(grey)
    if mode == "1":
        return image.convert("1", dither=Image.Dither.NONE)
    return image.convert(mode)


@st.composite
def pictures(draw, content: str):
    """(grey levels, format, mode): `content` is "any", "near-blank" (every level within 31 of
    the paper's) or "speck" (one mark smaller than the speck rule on plain paper)."""
    # Up to a few thousand pixels a side, and a megapixel in all: a photo's size, at a cost
    # that keeps `make test` quick.
    width = draw(SIDES)
    height = draw(st.integers(1, min(3000, 1_000_000 // width)) if width > 40 else SIDES)
    if content == "speck":
        assume(max(width, height) > 2 * predict.MIN_INK_PIXELS)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    paper = draw(st.integers(0, 255))
    if content == "any":
        grey = np.full((height, width), paper, dtype=np.int64)
        grey += rng.integers(0, draw(st.integers(1, 256)), grey.shape)
        for _ in range(draw(st.integers(0, 4))):
            top, left = rng.integers(0, height), rng.integers(0, width)
            grey[
                top : top + rng.integers(1, height + 1), left : left + rng.integers(1, width + 1)
            ] = draw(st.integers(0, 255))
    elif content == "near-blank":
        band = draw(st.integers(0, 31))
        paper = min(paper, 255 - band)
        grey = paper + rng.integers(0, band + 1, (height, width))
    else:
        longest = max(predict.MIN_INK_PIXELS, predict.MIN_INK_SHARE * max(width, height))
        size = draw(st.integers(1, int(np.ceil(longest)) - 1))
        grey = np.full((height, width), paper)
        top, left = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
        grey[top : top + size, left : left + size] = draw(st.integers(0, 255))
    formats = [f for f, modes in FORMATS.items() if content == "any" or set(modes) & set(EXACT)]
    image_format = draw(st.sampled_from(formats))
    modes = [m for m in FORMATS[image_format] if content == "any" or m in EXACT]
    return np.clip(grey, 0, 255).astype(np.uint8), image_format, draw(st.sampled_from(modes))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("pictures")


def read_as_predict_does(folder, picture) -> np.ndarray:
    grey, image_format, mode = picture
    path = folder / f"picture.{image_format.lower()}"
    in_mode(grey, mode).save(path, image_format)
    return predict.to_mnist(predict.read_grey(path), path)


@given(picture=pictures("any"))
def test_any_image_becomes_a_28x28_digit_or_one_line(folder, picture):
    try:
        digit = read_as_predict_does(folder, picture)
    except UserError as error:
        assert_one_clear_line(error, str(folder))
        assert "no digit found" in str(error)
    else:
        assert digit.shape == (28, 28) and digit.dtype == np.uint8 and digit.max() > 0


@given(picture=pictures("near-blank") | pictures("speck"))
# Found by the search: one pixel of ink in an image under 20 pixels was answered.
@example(picture=(np.array([[32], [0], [0], [0], [0]], dtype=np.uint8), "PNG", "L"))
def test_an_image_without_a_digit_is_never_answered_at_any_size(folder, picture):
    with pytest.raises(UserError, match="no digit found") as error:
        read_as_predict_does(folder, picture)
    assert_one_clear_line(error.value, str(folder))


@pytest.mark.parametrize("grey", [np.zeros((28, 28)), np.full((28, 28), 255.0)])
def test_a_blank_image_of_the_mnist_size_has_no_digit(grey):
    with pytest.raises(UserError, match="no digit found: the image is nearly uniform"):
        predict.to_mnist(grey, "blank.png")


def test_a_single_pixel_has_no_digit_even_at_the_mnist_size():
    grey = np.zeros((28, 28))
    grey[14, 14] = 255
    with pytest.raises(UserError, match="no digit found: only a speck of ink, 1x1 px"):
        predict.to_mnist(grey, "pixel.png")
