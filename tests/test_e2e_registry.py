"""The models as registry artifacts: released with gto's git tags, fetched from a second, empty
project with `dvc artifacts get` by version and by stage, and used by `predict --repo --rev`,
with the source project's cache deleted so that the files come from its remote."""

import json
import os
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, copy_project, dvc, git_commit, one_error, run

pytestmark = pytest.mark.e2e


def test_a_release_is_fetched_by_version_and_stage_and_classifies_a_digit(
    trained_project, tmp_path
):
    project = copy_project(trained_project, tmp_path / "p")
    dvc("remote", "add", "-d", "shared", str(tmp_path / "remote"), cwd=project)
    git_commit(project, "a remote")
    dvc("push", cwd=project)
    run(["gto", "register", "mnist-sgd", "--version", "v1.0.0"], cwd=project)
    run(["gto", "assign", "mnist-sgd", "--version", "v1.0.0", "--stage", "prod"], cwd=project)
    # A lightweight tag in gto's form is not a release: gto reads annotated tags only.
    run(["git", "tag", "mnist-adam@v2.0.0"], cwd=project)
    released = (project / "models" / "sgd.pt").read_bytes()
    shutil.rmtree(project / ".dvc" / "cache")

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    for how in (["--rev", "v1.0.0"], ["--stage", "prod"]):
        out = consumer / f"{how[1]}.pt"
        dvc("artifacts", "get", str(project), "mnist-sgd", *how, "-o", str(out), cwd=consumer)
        assert out.read_bytes() == released, how
    shown = json.loads(run(["gto", "show", "--json"], cwd=project).stdout)
    assert set(shown) == {"mnist-sgd"}, shown  # mnist-adam's lightweight tag is not listed
    ignored = dvc(
        "artifacts", "get", str(project), "mnist-adam", "--rev", "v2.0.0", check=False, cwd=consumer
    )
    assert ignored.returncode != 0 and not (consumer / "adam.pt").exists()

    # predict, from the empty project, with the release's model and its params.yaml.
    digit = np.load(trained_project / "data/processed/test-images.npy")[0]
    Image.fromarray(digit).save(consumer / "digit.png")
    label = int(np.load(trained_project / "data/processed/test-labels.npy")[0])
    command = [sys.executable, "-m", "mnist_pipeline.predict", "--repo", str(project)]
    env = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    predicted = run(
        [*command, "--rev", "mnist-sgd@v1.0.0", "models/sgd.pt", "digit.png", "--json"],
        cwd=consumer,
        env_extra=env,
    )
    assert json.loads(predicted.stdout)[0]["digit"] == label
    missing = run(
        [*command, "--rev", "no-such-tag", "models/sgd.pt", "digit.png"],
        cwd=consumer,
        env_extra=env,
        check=False,
    )
    assert one_error(missing).startswith(
        f"error: {project}@no-such-tag: cannot fetch models/sgd.pt"
    )
