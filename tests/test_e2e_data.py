"""The data stages through the real `dvc` CLI, in temporary clones, on real MNIST."""

import gzip
import json
import shutil

import pytest
import yaml

from mnist_pipeline.files import sha256
from tests.conftest import clone_project, dvc, one_error, set_param

pytestmark = pytest.mark.e2e


def pins(project):
    return yaml.safe_load((project / "params.yaml").read_text())["data"]["sha256"]["mnist"]


def test_repro_fetches_pinned_mnist_then_has_nothing_to_do(fetched_project):
    raw = fetched_project / "data" / "raw"
    assert {p.name: sha256(p) for p in raw.iterdir()} == pins(fetched_project)
    assert "verified against data.sha256" in (fetched_project / "repro.log").read_text()
    stats = json.loads((fetched_project / "data" / "processed" / "stats.json").read_text())
    assert stats["mean"] == pytest.approx(0.1307, abs=1e-3)
    assert stats["std"] == pytest.approx(0.3081, abs=1e-3)

    lock = (fetched_project / "dvc.lock").read_bytes()
    again = dvc("repro", "preprocess", cwd=fetched_project)
    assert "Running stage" not in again.stdout
    assert (fetched_project / "dvc.lock").read_bytes() == lock


def gzip_all(raw, folder):
    folder.mkdir()
    for path in raw.iterdir():
        # The fastest level: what is read back is the same bytes at any level (9 took ~10 s).
        gz = gzip.GzipFile(folder / f"{path.name}.gz", "wb", compresslevel=1, mtime=0)
        with open(path, "rb") as f, gz as out:
            shutil.copyfileobj(f, out)
    return folder


def test_dir_source_reads_gz_files_and_refuses_a_flipped_byte(raw_mnist, tmp_path):
    project = clone_project(tmp_path / "project")
    have = gzip_all(raw_mnist, tmp_path / "have")
    set_param(project, "data.source", f"dir:{have}")
    dvc("repro", "download", cwd=project)
    raw = project / "data" / "raw"
    assert {p.name: sha256(p) for p in raw.iterdir()} == pins(project)
    lock = (project / "dvc.lock").read_bytes()

    flipped = shutil.copytree(have, tmp_path / "flipped")
    bad = flipped / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    set_param(project, "data.source", f"dir:{flipped}")
    result = dvc("repro", "download", cwd=project, check=False)

    assert str(bad) in one_error(result)
    assert not raw.exists() or list(raw.iterdir()) == []
    assert not [p for p in (project / "data").iterdir() if "download-" in p.name]
    assert (project / "dvc.lock").read_bytes() == lock
