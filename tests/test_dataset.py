import hashlib

import numpy as np
import pytest

from mnist_pipeline import dataset
from mnist_pipeline.errors import UserError
from tests.conftest import write_fake_raw

LABELS = np.repeat(np.arange(10), [600, 700, 500, 650, 580, 520, 590, 630, 560, 670]).astype(
    np.uint8
)


def test_split_is_exact_disjoint_and_complete():
    train, val = dataset.stratified_split(LABELS, 500, seed=1)
    assert len(val) == 500
    assert len(np.intersect1d(train, val)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(LABELS)))


def test_split_is_stratified():
    _, val = dataset.stratified_split(LABELS, 500, seed=1)
    expected = np.bincount(LABELS) * 500 / len(LABELS)
    assert np.all(np.abs(np.bincount(LABELS[val], minlength=10) - expected) < 1)


def test_split_is_deterministic_per_seed():
    first = dataset.stratified_split(LABELS, 500, seed=1)
    again = dataset.stratified_split(LABELS, 500, seed=1)
    other = dataset.stratified_split(LABELS, 500, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


def test_val_size_must_leave_training_data():
    with pytest.raises(UserError, match="data.val_size: expected 1 to 5999"):
        dataset.stratified_split(LABELS, len(LABELS), seed=1)


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_preprocess_writes_uint8_splits_and_stats_byte_for_byte_the_same(tmp_path):
    raw = write_fake_raw(tmp_path / "raw")
    sizes = dataset.preprocess(raw, tmp_path / "a", val_size=100, seed=0)
    dataset.preprocess(raw, tmp_path / "b", val_size=100, seed=0)
    assert sizes == {"train": 500, "val": 100, "test": 100}
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert not any(name.startswith(".") for name in digests(tmp_path / "a"))
    train = dataset.load(tmp_path / "a", "train")
    assert train.images.dtype == np.uint8 and train.images.shape == (500, 28, 28)
    stats = (tmp_path / "a" / "stats.json").read_text()
    mean = train.images.mean() / 255
    assert f'"mean": {round(mean, 6)}' in stats


def test_preprocess_names_a_truncated_file(tmp_path):
    raw = write_fake_raw(tmp_path / "raw")
    path = raw / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(UserError, match=f"{path}: truncated"):
        dataset.preprocess(raw, tmp_path / "out", val_size=100, seed=0)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
