"""The training stages through the real `dvc` CLI on real MNIST, with 1-epoch runs.

That a change to train_sgd reruns train_sgd but not train_adam is checked with the workflows,
in tests/test_e2e_workflows.py.
"""

import json

import pandas as pd
import pytest
import torch

from tests.conftest import copy_project, dvc, one_error, set_param

pytestmark = pytest.mark.e2e


def test_both_stages_write_model_curves_and_metrics(trained_project):
    log = (trained_project / "repro.log").read_text()
    assert "Running stage 'train_adam'" in log and "Running stage 'train_sgd'" in log
    assert "epoch 1/1  train loss" in log
    # The kernel pin of params.yaml, as torch reports it from inside each training process.
    assert log.count("on cpu (ATen AVX2, MKL COMPATIBLE), 2 threads") == 2, log
    metrics = {
        name: json.loads((trained_project / f"metrics/train_{name}.json").read_text())
        for name in ("adam", "sgd")
    }
    assert metrics["adam"].keys() == metrics["sgd"].keys() == {"train", "val", "epochs"}
    assert metrics["sgd"]["val"]["acc"] > 0.9 and metrics["adam"]["val"]["acc"] > 0.9
    curves = pd.read_csv(trained_project / "plots/train_sgd.csv")
    assert list(curves.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"]
    assert len(curves) == 1
    checkpoint = torch.load(trained_project / "models/sgd.pt", weights_only=True)
    assert checkpoint["config"]["hidden"] == 128
    assert (
        checkpoint["training"]["section"] == "train_sgd" and checkpoint["training"]["epochs"] == 1
    )


def test_retraining_by_force_writes_the_same_model_bytes_and_lock(trained_project, tmp_path):
    project = copy_project(trained_project, tmp_path / "p")
    lock = (project / "dvc.lock").read_bytes()
    models = {name: (project / f"models/{name}.pt").read_bytes() for name in ("adam", "sgd")}
    result = dvc("repro", "--force", "--single-item", "train_adam", "train_sgd", cwd=project)
    assert (
        "Running stage 'train_adam'" in result.stdout
        and "Running stage 'train_sgd'" in result.stdout
    )
    for name, model in models.items():
        assert (project / f"models/{name}.pt").read_bytes() == model, name
    assert (project / "dvc.lock").read_bytes() == lock


def test_a_diverging_lr_stops_with_one_line_and_writes_nothing(prepared_project, tmp_path):
    project = copy_project(prepared_project, tmp_path / "p")
    lock = (project / "dvc.lock").read_bytes()
    set_param(project, "train_sgd.lr", "1.0e+6")
    set_param(project, "train_sgd.schedule", "constant")
    result = dvc("repro", "train_sgd", cwd=project, check=False)
    error = one_error(result)
    assert "in epoch 1 of 1" in error and "lr 1e+06" in error, error
    assert not (project / "models/sgd.pt").exists()
    assert (project / "dvc.lock").read_bytes() == lock
