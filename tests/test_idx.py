import numpy as np
import pytest

from mnist_pipeline import idx


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
