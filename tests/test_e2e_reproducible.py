"""What the repository promises a newcomer: a fresh clone's `dvc repro` gives the committed bytes.

These run the full default pipeline (10 epochs each), so they also check the committed baseline:
on a machine whose CPU differs from the one that made the commit, they are the cross-machine test.
That retraining on one machine gives the same bytes is checked on 1-epoch runs, in
tests/test_e2e_train.py.
"""

import hashlib
import platform

import pytest
import yaml

from mnist_pipeline import runtime
from tests.conftest import copy_project, dvc, run

pytestmark = pytest.mark.e2e


def cpu() -> str:
    """For failure messages: which machine failed to reproduce the bytes."""
    info = runtime.cpu_info()
    isa = [flag for flag in info.get("flags", "").split() if flag in ("avx2", "avx512f")]
    return f"{platform.machine()} {info.get('model name', '')} [{' '.join(isa)}]"


def committed_model_md5s(project) -> dict[str, str]:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"]
        for stage in ("train_adam", "train_sgd")
        for out in lock["stages"][stage]["outs"]
        if out["path"].endswith(".pt")
    }


@pytest.fixture(scope="module")
def reproduced(fetched_project, tmp_path_factory):
    """A clean clone (data fetched by its own `download`) after a plain `dvc repro`."""
    project = copy_project(fetched_project, tmp_path_factory.mktemp("reproduced") / "p")
    (project / "repro.log").unlink()  # the fixture's own note, not part of the clone
    dvc("repro", cwd=project)
    return project


def test_a_fresh_clone_reproduces_every_committed_byte(reproduced):
    changed = run(["git", "status", "--porcelain"], cwd=reproduced).stdout
    assert changed == "", f"on {cpu()}, a fresh `dvc repro` changed tracked files:\n{changed}"
    assert "up to date" in dvc("status", cwd=reproduced).stdout
    # The study's DVC project: its 1,162 committed cells still match the code and the data.
    assert "up to date" in dvc("status", cwd=reproduced / "study").stdout
    for path, md5 in committed_model_md5s(reproduced).items():
        assert hashlib.md5((reproduced / path).read_bytes()).hexdigest() == md5, (
            f"{path} on {cpu()}"
        )


def test_plots_show_works_in_a_clone_that_never_ran_make(reproduced, tmp_path):
    dvc("plots", "show", "-o", str(tmp_path / "plots"), cwd=reproduced)
    page = (tmp_path / "plots" / "index.html").read_text()
    assert "vegaEmbed" in page and "<script src=" not in page  # the committed offline template
