import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist_pipeline import evaluation, params, runtime, training
from mnist_pipeline import model as model_module
from mnist_pipeline.dataset import Split
from mnist_pipeline.errors import UserError
from mnist_pipeline.model import MLP

SGD = params.Training(
    params.SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0),
    params.Loop(epochs=2, batch_size=32, schedule="cosine"),
)
ADAM = params.Training(
    params.Adam(lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0),
    params.Loop(epochs=2, batch_size=32, schedule="constant"),
)


def fake_split(n: int, seed: int) -> Split:
    """Digits that are learnable: each class lights up its own band of rows."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 * label + 4 : 2 * label + 7] = 250
    return Split(images, labels)


def train_once(cfg, seed=0) -> MLP:
    runtime.start(threads=1, device="cpu", seed=seed)
    model = MLP(hidden=16)
    training.fit(model, fake_split(256, 1), fake_split(64, 2), cfg, seed, torch.device("cpu"))
    return model


def test_parameter_count_of_the_reference_model():
    assert sum(p.numel() for p in MLP(hidden=128).parameters()) == 101_770


def test_model_takes_raw_pixels():
    logits = MLP()(torch.zeros(5, 28, 28, dtype=torch.uint8))
    assert logits.shape == (5, 10)


@pytest.mark.parametrize("cfg", [SGD, ADAM], ids=["sgd", "adam"])
def test_one_step_lowers_the_loss_on_a_fixed_batch(cfg):
    torch.manual_seed(0)
    model = MLP(hidden=32)
    batch = fake_split(64, 0)
    images, labels = evaluation.to_tensors(batch, torch.device("cpu"))
    optimizer = training.make_optimizer(model, cfg.optimizer)
    before = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    assert F.cross_entropy(model(images), labels).item() < before.item()


@pytest.mark.parametrize("cfg", [SGD, ADAM], ids=["sgd", "adam"])
def test_same_seed_gives_identical_weights_and_another_seed_does_not(cfg):
    first, again, other = train_once(cfg), train_once(cfg), train_once(cfg, seed=1)
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[key])
    assert not torch.equal(
        first.state_dict()["layers.1.weight"], other.state_dict()["layers.1.weight"]
    )


def test_training_learns_and_reports_each_epoch():
    runtime.start(threads=1, device="cpu", seed=0)
    epochs = []
    history = training.fit(
        MLP(hidden=16),
        fake_split(512, 1),
        fake_split(128, 2),
        SGD,
        0,
        torch.device("cpu"),
        on_epoch=epochs.append,
    )
    assert epochs == history and [e.epoch for e in history] == [1, 2]
    assert history[-1].val_acc > 0.9
    assert history[-1].lr < SGD.optimizer.lr  # the cosine schedule decayed it


def test_divergence_stops_at_once_naming_epoch_and_lr():
    hot = params.Training(
        dataclasses.replace(SGD.optimizer, lr=1e30),
        dataclasses.replace(SGD.loop, schedule="constant"),
    )
    runtime.start(threads=1, device="cpu", seed=0)
    with pytest.raises(
        training.Diverged, match=r"loss became (nan|inf) in epoch 1 of 2 .* at lr 1e\+30"
    ):
        training.fit(
            MLP(hidden=16), fake_split(256, 1), fake_split(64, 2), hot, 0, torch.device("cpu")
        )


def test_saved_model_loads_with_weights_only_and_predicts_the_same(tmp_path):
    model = train_once(SGD)
    model_module.save(model, tmp_path / "m.pt", training={"lr": 0.1})
    checkpoint = torch.load(tmp_path / "m.pt", weights_only=True)
    assert checkpoint["config"]["hidden"] == 16
    loaded, training_record = model_module.load(tmp_path / "m.pt")
    assert training_record == {"lr": 0.1}
    images = torch.from_numpy(fake_split(8, 3).images)
    assert torch.equal(loaded(images), model.eval()(images))


def test_saving_is_byte_deterministic(tmp_path):
    model = train_once(SGD)
    model_module.save(model, tmp_path / "a.pt", training={})
    model_module.save(model, tmp_path / "b.pt", training={})
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a model", "not a model file of this pipeline"),
        (None, "not a model file of this pipeline \\(expected format"),
    ],
)
def test_a_file_that_is_not_our_model_is_refused(tmp_path, content, message):
    path = tmp_path / "other.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(UserError, match=f"{path}: {message}"):
        model_module.load(path)


def sgd_params(**changes):
    values = {
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": False,
        "epochs": 10,
        "batch_size": 256,
        "weight_decay": 0.0,
        "schedule": "cosine",
        **changes,
    }
    return {"train_sgd": values}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr": -1}, "train_sgd.lr: expected a number > 0, got -1"),
        ({"epochs": "ten"}, "train_sgd.epochs: expected an integer >= 1, got 'ten'"),
        ({"epochs": 0}, "train_sgd.epochs: expected an integer >= 1, got 0"),
        ({"momentum": 1.0}, "train_sgd.momentum: expected a number in \\[0, 1\\), got 1.0"),
        ({"nesterov": "yes"}, "train_sgd.nesterov: expected true or false, got 'yes'"),
        (
            {"momentun": 0.9},
            "train_sgd.momentun: unknown key, .*did you mean train_sgd.momentum\\?",
        ),
        ({"schedule": "step"}, "train_sgd.schedule: expected 'constant' or 'cosine', got 'step'"),
    ],
)
def test_training_params_are_validated(changes, message):
    with pytest.raises(UserError, match=f"^params.yaml: {message}$"):
        params.training(sgd_params(**changes), "train_sgd")


def test_a_training_section_splits_into_optimizer_and_loop_settings():
    cfg = params.training(sgd_params(), "train_sgd")
    assert cfg.optimizer == params.SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)
    assert cfg.loop == params.Loop(epochs=10, batch_size=256, schedule="cosine")


@pytest.mark.parametrize("key", ["lr", "epochs"])
def test_a_missing_training_key_is_named(key):
    section = sgd_params()
    del section["train_sgd"][key]
    with pytest.raises(UserError, match=f"^params.yaml: train_sgd.{key}: missing, expected"):
        params.training(section, "train_sgd")


def test_an_adam_key_in_the_sgd_section_is_refused():
    with pytest.raises(UserError, match="train_sgd.beta1: unknown key, expected one of lr, "):
        params.training(sgd_params(beta1=0.9), "train_sgd")


def test_cuda_asked_for_without_one():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert runtime.start(threads=1, device="auto").type == "cpu"
    with pytest.raises(UserError, match="runtime.device: 'cuda' asked for"):
        runtime.start(threads=1, device="cuda")
