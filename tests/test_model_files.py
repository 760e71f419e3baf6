"""Model files from anywhere: `model.load` accepts what `model.save` writes and refuses anything
else in one line, without running it, without building a network a file merely asks for, and
without advice to turn the safety check off. Searched with Hypothesis, not only listed."""

import io
import pickle
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from mnist_pipeline import model
from mnist_pipeline.errors import UserError
from tests.conftest import RunsCode
from tests.strategies import VALUES, assert_one_clear_line


def saved(net: model.MLP) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        model.save(net, Path(folder) / "m.pt", training={"section": "train_sgd"})
        return (Path(folder) / "m.pt").read_bytes()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


GOOD = saved(model.MLP(hidden=3))


def refused_or_loaded(folder, data: bytes) -> None:
    path = folder / "model.pt"
    path.write_bytes(data)
    try:
        net, _ = model.load(path)
    except UserError as error:
        assert_one_clear_line(error, str(path))
    else:
        assert net(torch.zeros(1, 28, 28, dtype=torch.uint8)).shape == (1, 10)


@given(cut=st.integers(0, len(GOOD) - 1))
def test_a_truncated_model_file_is_one_line(folder, cut):
    refused_or_loaded(folder, GOOD[:cut])


@given(at=st.integers(0, len(GOOD) - 1), byte=st.integers(0, 255))
def test_a_model_file_with_a_changed_byte_loads_or_is_one_line(folder, at, byte):
    refused_or_loaded(folder, GOOD[:at] + bytes([byte]) + GOOD[at + 1 :])


@given(data=st.binary(max_size=2048))
@example(data=b"\x00")  # found by the search: refused with torch's advice to drop weights_only
def test_any_bytes_are_one_line(folder, data):
    refused_or_loaded(folder, data)


TENSORS = st.builds(
    lambda shape, dtype: torch.zeros(shape, dtype=dtype),
    st.lists(st.integers(0, 4), max_size=3),
    st.sampled_from([torch.float32, torch.float64, torch.int64, torch.uint8]),
)
CONTENT = st.recursive(
    VALUES | TENSORS, lambda inner: st.dictionaries(st.text(max_size=16), inner), max_leaves=12
)


@given(
    config=CONTENT | st.fixed_dictionaries({"hidden": VALUES, "mean": VALUES, "std": VALUES}),
    state=CONTENT,
    extra=st.dictionaries(st.text(max_size=8), CONTENT, max_size=2),
)
# Found by the search: each ended in a traceback (a mapping expected, a negative dimension).
@example(config=None, state=None, extra={})
@example(config={"hidden": -1, "mean": 0.1, "std": 0.3}, state={}, extra={})
def test_a_torch_file_of_any_content_is_one_line(folder, config, state, extra):
    """Files torch writes with our format tag but anything else inside, such as a config that
    asks for a billion hidden units beside weights for three."""
    buffer = io.BytesIO()
    checkpoint = {**extra, "format": model.FORMAT, "config": config, "state_dict": state}
    torch.save(checkpoint, buffer)
    refused_or_loaded(folder, buffer.getvalue())


def test_a_config_that_asks_for_more_than_its_weights_is_refused_before_building(tmp_path):
    checkpoint = torch.load(io.BytesIO(GOOD), weights_only=True)
    checkpoint["config"]["hidden"] = 10**12  # building this network would need 3 TB
    torch.save(checkpoint, tmp_path / "m.pt")
    with pytest.raises(UserError, match="weights do not fit the model: expected float32"):
        model.load(tmp_path / "m.pt")


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_file_that_would_run_a_command_is_refused_safely_and_nothing_runs(tmp_path, how):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    if how == "pickle":
        path.write_bytes(pickle.dumps({"format": model.FORMAT, "config": RunsCode(marker)}))
    else:
        torch.save({"format": model.FORMAT, "config": RunsCode(marker)}, path)
    with pytest.raises(UserError) as error:
        model.load(path)
    assert_one_clear_line(error.value, f"{path}: not a model file of this pipeline")
    assert "refused without running" in str(error.value)
    assert not marker.exists()
