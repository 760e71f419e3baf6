"""The study's copy of each problem's files: fetched once, from data/raw when it holds them,
verified against the pins (download's refusals are tests/test_e2e_reliability.py's)."""

import pytest

from mnist_pipeline.files import sha256
from mnist_pipeline.study import data
from tests.conftest import write_fake_raw


@pytest.fixture
def checkout(tmp_path):
    """A folder standing for a checkout whose data/raw holds four small files."""
    write_fake_raw(tmp_path / "data" / "raw")
    return tmp_path


def pins_of(folder) -> dict:
    return {path.name: sha256(path) for path in sorted(folder.iterdir())}


def test_the_pinned_files_are_copied_from_data_raw_once(checkout):
    pins = pins_of(checkout / "data" / "raw")
    data.fetch("mnist", pins, root=checkout)
    folder = checkout / "study" / "data" / "mnist"
    assert pins_of(folder) == pins
    stamps = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    data.fetch("mnist", pins, root=checkout)  # there already: nothing is written
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == stamps
    assert (
        data.files("mnist", pins)["study/data/mnist/t10k-images-idx3-ubyte"]
        == pins["t10k-images-idx3-ubyte"]
    )
    assert data.pins_of(data.files("mnist", pins)) == pins
