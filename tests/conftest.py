"""Shared helpers: temporary clones of this project and the real `dvc` CLI run inside them."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_pipeline import idx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command the way a user would in a shell whose PATH starts with the venv."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MNIST_PIPELINE_DEBUG", None)
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["dvc", *args], cwd=cwd, check=check)


def clone_project(dest: Path) -> Path:
    """A fresh git repo holding this checkout's files as they are now, committed or not
    (what `git clone` would give once the change is committed)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "clone"]):
        run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=dest)
    return dest


def set_param(project: Path, key: str, value: str) -> None:
    """Set `section.key: value` in params.yaml, keeping its comments."""
    path = project / "params.yaml"
    *_, name = key.split(".")
    text, count = re.subn(rf"(?m)^(\s*{name}:).*$", rf"\g<1> {value}", path.read_text(), count=1)
    assert count == 1, f"{key} not found in params.yaml"
    path.write_text(text)


def write_fake_raw(folder: Path, n_train: int = 600, n_test: int = 100, seed: int = 0) -> Path:
    """Four small valid IDX files with random pixels and all ten classes, for unit tests."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        idx.write(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        idx.write(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture(scope="session")
def fetched_project(tmp_path_factory) -> Path:
    """A clone that ran `dvc repro preprocess` with the default `auto` source: real MNIST."""
    project = clone_project(tmp_path_factory.mktemp("fetched"))
    result = dvc("repro", "preprocess", cwd=project)
    (project / "repro.log").write_text(result.stdout + result.stderr)
    return project


@pytest.fixture(scope="session")
def raw_mnist(fetched_project) -> Path:
    return fetched_project / "data" / "raw"
