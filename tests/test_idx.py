import math
import re
import struct

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mnist_pipeline import idx
from tests.strategies import assert_one_clear_line


def test_round_trip_keeps_shape_and_bytes(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    idx.write(tmp_path / "images", images)
    data = (tmp_path / "images").read_bytes()
    assert data[:16] == bytes.fromhex("00000803000000030000001c0000001c")
    assert np.array_equal(idx.read_images(tmp_path / "images"), images)


def test_labels_round_trip(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    idx.write(tmp_path / "labels", labels)
    assert (tmp_path / "labels").read_bytes()[:8] == bytes.fromhex("0000080100000005")
    assert np.array_equal(idx.read_labels(tmp_path / "labels"), labels)


def test_wrong_magic_names_file_and_expected_magic(tmp_path):
    path = tmp_path / "labels"
    idx.write(path, np.zeros(4, dtype=np.uint8))
    with pytest.raises(idx.IdxError, match=rf"{path}: wrong magic number 2049 .* expected 2051"):
        idx.read_images(path)


def test_garbage_is_not_idx(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(idx.IdxError, match=f"{path}: wrong magic number"):
        idx.read_labels(path)


def test_truncated_file_names_expected_size(tmp_path):
    path = tmp_path / "images"
    idx.write(path, np.zeros((2, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        idx.IdxError, match=rf"{path}: truncated: .* expected 1584 bytes, file has 1574"
    ):
        idx.read_images(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = tmp_path / "labels"
    idx.write(path, np.zeros(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(idx.IdxError, match="too long"):
        idx.read_labels(path)


def test_wrong_image_size(tmp_path):
    path = tmp_path / "images"
    idx.write(path, np.zeros((2, 32, 32), dtype=np.uint8))
    with pytest.raises(idx.IdxError, match="32x32, expected 28x28"):
        idx.read_images(path)


def test_label_out_of_range(tmp_path):
    path = tmp_path / "labels"
    idx.write(path, np.array([1, 10], dtype=np.uint8))
    with pytest.raises(idx.IdxError, match="label 10 out of range, expected 0-9"):
        idx.read_labels(path)


# Property-based: any header and any length. A file is read as the shape its header states, or
# refused in one line that names it; never a numpy error, never a wrong shape.
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("idx")


DIMENSIONS = st.integers(0, 3) | st.integers(0, 2**32 - 1)


@given(
    zeros=st.sampled_from([0, 0, 1, 0xFFFF]),
    type_code=st.sampled_from([idx.UINT8, idx.UINT8, 0x09, 0x0D]),
    ndim=st.integers(0, 4),
    dims=st.lists(DIMENSIONS, max_size=4),
    payload=st.integers(0, 200),
    cut=st.integers(0, 24),
    expect=st.integers(1, 3),
)
# Found by the long search: numpy's product of these wrapped past 2**63, so the error line gave
# a wrong size.
@example(
    zeros=0, type_code=8, ndim=3, dims=[10746080, 451107, 3810497], payload=200, cut=24, expect=3
).via("discovered failure")
def test_any_header_and_length_reads_as_its_shape_or_is_one_line(
    folder, zeros, type_code, ndim, dims, payload, cut, expect
):
    header = struct.pack(f">HBB{len(dims)}I", zeros, type_code, ndim, *dims)
    data = (header + bytes(payload))[: max(0, len(header) + payload - cut)]
    path = folder / "file-idx-ubyte"
    path.write_bytes(data)
    try:
        array = idx.read(path, expect)
    except idx.IdxError as error:
        assert_one_clear_line(error, str(path))
        stated = re.search(r"shape ([\dx]+), expected (\d+) bytes", str(error))
        if stated:  # the size the header implies, in whole numbers however large
            shape = [int(n) for n in stated[1].split("x")]
            assert int(stated[2]) == 4 + 4 * expect + math.prod(shape), str(error)
    else:
        header_size = 4 + 4 * expect
        assert data[:4] == bytes([0, 0, idx.UINT8, expect])
        shape = struct.unpack(f">{expect}I", data[4:header_size])
        assert array.shape == shape and len(data) == header_size + math.prod(shape)


@pytest.mark.parametrize(
    "what, reason", [("missing", "No such file"), ("folder", "Is a directory")]
)
def test_a_path_that_is_not_a_readable_file_is_one_line(tmp_path, what, reason):
    path = tmp_path / "train-labels-idx1-ubyte"
    if what == "folder":
        path.mkdir()
    with pytest.raises(idx.IdxError, match=f"^{path}: cannot read: {reason}"):
        idx.read_labels(path)
