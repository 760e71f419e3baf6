import copy
import functools

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mnist_pipeline import dataset, params, resources
from mnist_pipeline.errors import UserError
from tests.conftest import ROOT
from tests.strategies import VALUES, assert_one_clear_line, key_paths

PINS = {name: "0" * 64 for name in ("a", "b", "c", "d")}


def data(**changes):
    return {
        "dataset": "mnist",
        "source": "auto",
        "val_size": 5000,
        "sha256": {"mnist": PINS},
        **changes,
    }


def test_valid_section_parses():
    parsed = params.parse(params.Data, data(source="dir:/tmp/mnist"), "data")
    assert parsed.source == "dir:/tmp/mnist" and parsed.val_size == 5000


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"val_size": "ten"}, "data.val_size: expected a positive integer, got 'ten'"),
        ({"val_size": 0}, "data.val_size: expected a positive integer, got 0"),
        ({"val_size": 2.5}, "data.val_size: expected a positive integer, got 2.5"),
        ({"val_size": True}, "data.val_size: expected a positive integer, got True"),
        ({"source": "http://x"}, "data.source: expected 'auto' or 'dir:PATH', got 'http://x'"),
        ({"sha256": {"mnist": {"a": "xyz"}}}, "data.sha256: expected a mapping of dataset names"),
        ({"sha256": {"kmnist": PINS}}, "data.sha256: expected a mapping of dataset names"),
        ({"dataset": "kmnist"}, "data.dataset: expected 'mnist' or 'fashion-mnist', got 'kmnist'"),
        ({"val_sise": 1}, "data.val_sise: unknown key, .*; did you mean data.val_size\\?"),
    ],
)
def test_bad_values_name_the_key_and_what_is_expected(changes, message):
    with pytest.raises(UserError, match=f"^params.yaml: {message}"):
        params.parse(params.Data, data(**changes), "data")


def test_missing_key():
    raw = data()
    del raw["val_size"]
    with pytest.raises(UserError, match="data.val_size: missing, expected a positive integer"):
        params.parse(params.Data, raw, "data")


def test_the_selected_dataset_needs_its_pins():
    with pytest.raises(UserError, match="data.sha256: no pins for data.dataset 'fashion-mnist'"):
        params.data({"data": data(dataset="fashion-mnist")})
    assert params.data({"data": data()}).dataset == "mnist"


def test_section_must_be_a_mapping():
    with pytest.raises(UserError, match="data: expected a mapping"):
        params.data({"data": "auto"})


@pytest.mark.parametrize("raw, expected", [(1, 1.0), ("1e-3", 0.001), (0.5, 0.5)])
def test_floats_accept_ints_and_yaml_scientific_strings(raw, expected):
    assert params.coerce(raw, float) == expected


@pytest.mark.parametrize("raw", [True, "ten", "nan", "inf", None, [1]])
def test_floats_refuse_non_numbers(raw):
    assert params.coerce(raw, float) is None


def test_seed():
    assert params.seed({"seed": 3}) == 3
    with pytest.raises(UserError, match="seed: expected an integer >= 0, got -1"):
        params.seed({"seed": -1})


COMMITTED = yaml.safe_load((ROOT / "params.yaml").read_text())
LABELS = np.arange(60_000) % 10  # MNIST's training set has 60,000 images of ten classes


@functools.cache  # most examples change another key: the same split, computed once
def split(val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return dataset.stratified_split(LABELS, val_size, seed)


def checked_before_any_work(values: dict) -> None:
    """What the stages check before they load data or torch: every section, the split the
    preprocess stage makes, and whether the machine can train such a model."""
    seed, data, model = params.seed(values), params.data(values), params.model(values)
    params.runtime(values)
    _, val = split(data.val_size, seed)
    for section in params.OPTIMIZERS:
        batch_size = params.training(values, section).loop.batch_size
        where = f"params.yaml: model.hidden {model.hidden}, {section}.batch_size {batch_size}"
        optimizer = section.removeprefix("train_")
        resources.check_training(model.hidden, batch_size, len(LABELS) - len(val), optimizer, where)


def test_the_committed_params_pass_every_check():
    checked_before_any_work(COMMITTED)


@given(key=st.sampled_from(key_paths(COMMITTED)), value=VALUES | st.just(KeyError))
def test_any_value_at_any_key_passes_or_is_one_line_naming_the_file(key, value):
    raw = copy.deepcopy(COMMITTED)
    *path, last = key.split(".")
    target = functools.reduce(lambda mapping, part: mapping[part], path, raw)
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    try:
        checked_before_any_work(raw)
    except UserError as error:
        assert_one_clear_line(error, "params.yaml: ")


@pytest.mark.parametrize(
    "key, value, message",
    [
        (
            "runtime.threads",
            10_000,
            r"runtime.threads: expected an integer from 1 to \d+ \(4 a core; this machine has",
        ),
        (
            "model.hidden",
            1_000_000_000,
            r"model.hidden 1000000000, train_adam.batch_size 64: training would need at least "
            r"[\d.]+ TB of memory .*; this machine has [\d.]+ [kMGT]B available",
        ),
    ],
)
def test_params_the_machine_cannot_serve_are_refused_with_what_they_need(key, value, message):
    raw = copy.deepcopy(COMMITTED)
    section, name = key.split(".")
    raw[section][name] = value
    with pytest.raises(UserError, match=f"^params.yaml: {message}"):
        checked_before_any_work(raw)
