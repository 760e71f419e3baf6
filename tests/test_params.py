import pytest

from mnist_pipeline import params
from mnist_pipeline.errors import UserError

PINS = {name: "0" * 64 for name in ("a", "b", "c", "d")}


def data(**changes):
    return {"source": "auto", "val_size": 5000, "sha256": PINS, **changes}


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
        ({"sha256": {"a": "xyz"}}, "data.sha256: expected a mapping of the four IDX file names"),
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
