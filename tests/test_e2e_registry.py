"""The models as registry artifacts: released with gto's git tags, fetched from a second, empty
project with `dvc artifacts get` by version and by stage, and used by `predict --repo --rev`;
and the project's files at any revision through `dvc ls`, `dvc import`, `dvc update` and
`dvc.api`. The source project's cache is deleted, so the files come from its remote."""

import io
import json
import shutil
import sys

import dvc.api as dvc_api
import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import BIN, ROOT, copy_project, dvc, git_commit, one_error, run

pytestmark = pytest.mark.e2e


def rev_lock(dvc_file) -> str:
    """The commit an import is pinned to."""
    return yaml.safe_load(dvc_file.read_text())["deps"][0]["repo"]["rev_lock"]


def test_from_an_empty_folder_a_release_and_any_revision_are_fetched_and_classify(
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
    (project / "NOTES.md").write_text("A commit after the release.\n")
    git_commit(project, "after the release")
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
    assert "Unable to find artifact 'mnist-adam @ v2.0.0'" in ignored.stderr, ignored.stderr

    # The project's files at any revision: listed, imported with the revision pinned, moved.
    listed = dvc("ls", str(project), "models", "--rev", "mnist-sgd@v1.0.0", cwd=consumer).stdout
    assert {"adam.pt", "sgd.pt"} <= set(listed.split()), listed
    dvc(
        "get",
        str(project),
        "models/sgd.pt",
        "--rev",
        "mnist-sgd@v1.0.0",
        "-o",
        "got.pt",
        cwd=consumer,
    )
    assert (consumer / "got.pt").read_bytes() == released
    run(["git", "init", "-q"], cwd=consumer)
    dvc("init", "-q", cwd=consumer)
    release = run(["git", "rev-parse", "mnist-sgd@v1.0.0^{commit}"], cwd=project).stdout.strip()
    branch = run(["git", "branch", "--show-current"], cwd=project).stdout.strip()
    latest = run(["git", "rev-parse", branch], cwd=project).stdout.strip()
    command = ["import", str(project), "models/sgd.pt", "--rev", "mnist-sgd@v1.0.0", "-o", "sgd.pt"]
    dvc(*command, cwd=consumer)
    assert rev_lock(consumer / "sgd.pt.dvc") == release
    assert (consumer / "sgd.pt").read_bytes() == released
    dvc("update", "--rev", branch, "sgd.pt.dvc", cwd=consumer)
    assert rev_lock(consumer / "sgd.pt.dvc") == latest != release
    with dvc_api.open(
        "data/processed/test-labels.npy", repo=str(project), rev="mnist-sgd@v1.0.0", mode="rb"
    ) as f:
        labels = np.load(io.BytesIO(f.read()))
    assert np.array_equal(labels, np.load(trained_project / "data/processed/test-labels.npy"))

    # predict, from the empty project, with the release's model and its params.yaml: the
    # `mnist-predict` command of the package as `pip install .` installs it (here into a folder
    # of its own, beside the environment's dependencies), not the checkout's modules.
    # (From a copy: setuptools builds in the source folder.)
    source, installed = tmp_path / "source", tmp_path / "installed"
    shutil.copytree(ROOT / "mnist_pipeline", source / "mnist_pipeline")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    uv = [BIN / "uv", "pip", "install", "--quiet", "--no-deps", "--python", sys.executable]
    run([*uv, "--target", installed, source], cwd=tmp_path)
    digit = np.load(trained_project / "data/processed/test-images.npy")[0]
    Image.fromarray(digit).save(consumer / "digit.png")
    label = int(np.load(trained_project / "data/processed/test-labels.npy")[0])
    command = [installed / "bin" / "mnist-predict", "--repo", str(project)]
    env = {"PYTHONPATH": str(installed)}
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
    # Without --repo, outside a project: where its settings would come from, in one line.
    local = run([command[0], "sgd.pt", "digit.png"], cwd=consumer, env_extra=env, check=False)
    assert one_error(local).startswith("error: params.yaml: not in this folder: run in the project")
