"""The study's protocol file: the committed one parses, its cells carry DVC's names, and every
bad value ends in one line naming study/params.yaml, the key and what was expected."""

import copy

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mnist_pipeline.errors import UserError
from mnist_pipeline.study import engine, protocol
from tests.conftest import ROOT
from tests.strategies import VALUES, assert_one_clear_line, key_paths

COMMITTED = yaml.safe_load((ROOT / "study" / "params.yaml").read_text())


def test_the_committed_protocol_meets_the_issue_s_floor():
    plan = protocol.parse(COMMITTED)
    names = {arm.name for arm in plan.arms}
    assert {"sgd-128", "momentum-128", "adam-128"} <= names
    assert {"momentum-64", "adam-64", "momentum-256", "adam-256"} <= names
    assert plan.optimizers["sgd"].momentum == 0 and plan.optimizers["momentum"].momentum == 0.9
    assert (plan.optimizers["adam"].beta1, plan.optimizers["adam"].beta2) == (0.9, 0.999)
    assert (plan.loop.epochs, plan.loop.schedule) == (10, "cosine")
    # >= 4 points per decade: neighbours at most a quarter decade apart, in log10.
    import math

    lrs = sorted(plan.lrs)
    assert max(math.log10(b / a) for a, b in zip(lrs, lrs[1:], strict=False)) <= 0.25 + 1e-3
    assert len(plan.tuning_seeds) >= 3 and len(plan.rerun_seeds) >= 20
    assert plan.lr_room >= 1
    # Both problems, each with the settings docs/study.md declared before its first run.
    assert [problem.name for problem in plan.problems] == ["mnist", "fashion-mnist"]
    fashion = plan.on("fashion-mnist")
    assert fashion.margins == {"test_acc": 0.002, "test_loss": 0.02}
    assert (fashion.good_range, fashion.targets) == (0.004, (0.88, 0.89))


def test_cells_are_named_as_dvc_names_matrix_stages():
    plan = protocol.parse(COMMITTED)
    tune = plan.cells("tune")
    per_problem = len(plan.arms) * len(plan.lrs) * len(plan.tuning_seeds)
    assert len(tune) == len(plan.problems) * per_problem
    assert tune[0].name == "tune@mnist-sgd-128-0.0001-1"
    assert str(tune[0].path) == "study/cells/tune/mnist/sgd-128-0.0001-1.json"
    assert tune[per_problem].name == "tune@fashion-mnist-sgd-128-0.0001-1"
    assert plan.cells("rerun")[0].name == "rerun@mnist-sgd-128-101"
    assert str(plan.cells("rerun")[-1].path) == "study/cells/rerun/fashion-mnist/adam-256-120.json"
    assert plan.on("fashion-mnist").cells("tune") == tune[per_problem:]


def test_an_integer_lr_keeps_its_text_as_dvc_does():
    raw = copy.deepcopy(COMMITTED) | {"lrs": [1, 0.5]}
    names = [cell.name for cell in protocol.parse(raw).cells("tune")[:4]]
    assert names[0] == "tune@mnist-sgd-128-1-1" and "tune@mnist-sgd-128-0.5-1" in names


def test_each_arm_is_compared_with_the_reference_at_its_batch_size():
    plan = protocol.parse(COMMITTED)
    assert plan.reference_of("adam-64") == "momentum-64"
    assert plan.training("adam-64", 0.01).loop.batch_size == 64
    assert plan.training("adam-64", 0.01).optimizer.lr == 0.01


def changed(key: str, value):
    raw = copy.deepcopy(COMMITTED)
    *path, last = key.split(".")
    target = raw
    for part in path:
        target = target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return raw


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("lrs", [], "lrs: expected a non-empty list of distinct numbers > 0"),
        ("lrs", [0.1, 0], "lrs: expected a non-empty list of distinct numbers > 0"),
        ("lrs", [0.1, -1], "lrs: expected a non-empty list"),
        ("lrs", [0.1, 0.1], "lrs: expected a non-empty list of distinct"),
        ("lrs", ["fast"], "lrs: expected"),
        ("seeds.rerun", [1, 101], "seeds.rerun: 1 also tuning seeds; the reruns must be fresh"),
        ("seeds.rerun", [101], "seeds.rerun: expected a list of at least two"),
        ("seeds.tuning", [], "seeds.tuning: expected a non-empty list"),
        ("margins.mnist.test_acc", 0, "margins.mnist.test_acc: expected a number > 0"),
        (
            "margins.fashion-mnist.test_loss",
            -0.01,
            "margins.fashion-mnist.test_loss: expected a number > 0",
        ),
        ("margins.mnist.test_acc", KeyError, "margins.mnist.test_acc: expected a number > 0"),
        ("margins.mnist", KeyError, "margins: expected a mapping with one entry for each problem"),
        ("targets.mnist", [1.5], "targets.mnist: expected a non-empty list of validation acc"),
        ("good_range", 0.002, "good_range: expected a mapping with one entry for each problem"),
        ("problems", ["kmnist"], "problems: expected a non-empty list of distinct datasets from"),
        ("problems", [], "problems: expected a non-empty list"),
        ("arms", ["adam-128"], "arms: expected a momentum-128 arm to compare adam-128 with"),
        ("arms", ["rmsprop-128"], "arms: expected a non-empty list of distinct OPTIMIZER-BATCH"),
        ("arms", ["adam-0", "momentum-0"], "arms: expected a non-empty list"),
        ("reference", "nadam", "reference: expected one of the optimizers"),
        ("optimizers.adam.beta2", 1.5, r"optimizers.adam.beta2: expected a number in \[0, 1\)"),
        ("optimizers.adam.lr", 0.1, "optimizers.adam.lr: the lr is tuned on the grid"),
        ("optimizers.sgd.algorithm", "lion", "optimizers.sgd.algorithm: expected one of sgd"),
        ("epochs", 0, "protocol.epochs: expected an integer >= 1"),
        ("schedule", "step", "protocol.schedule: expected 'constant' or 'cosine'"),
        ("lr_room", -1, "lr_room: expected a number of decades >= 0"),
        (
            "threads",
            0,
            r"threads: expected an integer from 1 to \d+ \(4 a core; this machine has \d+ cores?",
        ),
        ("threads", 10_000, r"threads: expected an integer from 1 to \d+ .*got 10000"),
        ("lrz", [0.1], "protocol.lrz: unknown key, .*did you mean protocol.lrs"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_file_and_key(key, value, message):
    with pytest.raises(UserError, match=f"^study/params.yaml: {message}"):
        protocol.parse(changed(key, value))


def test_an_unreadable_file_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("arms: [unclosed\n")
    with pytest.raises(UserError, match="params.yaml: cannot read params"):
        protocol.load(tmp_path / "params.yaml")


@given(key=st.sampled_from(key_paths(COMMITTED)), value=VALUES | st.just(KeyError))
def test_any_value_at_any_key_parses_or_is_one_line_naming_the_file(key, value):
    try:
        protocol.parse(changed(key, value))
    except UserError as error:
        assert_one_clear_line(error, "study/params.yaml: ")


@pytest.mark.parametrize(
    "jobs, hidden, message",
    [
        (10_000, 128, r"--jobs 10000: 10000 workers of 1 thread\(s\) each: expected at most \d+"),
        (2, 10**6, r"params.yaml: model.hidden 1000000, .* 2 trainings at once would need"),
    ],
)
def test_workers_the_machine_cannot_serve_are_refused_before_any_starts(jobs, hidden, message):
    with pytest.raises(UserError, match=f"^{message}"):
        engine.check_machine(protocol.parse(COMMITTED), hidden, jobs)
