"""study/dvc.yaml as DVC expands it against the protocol module's cells: the engine trains a
cell by its protocol definition and then `dvc commit`s the stage of that name, so both must mean
the same run, the same command and the same output file."""

import shlex

import pytest
from dvc.repo import Repo

from mnist_pipeline.study import protocol
from tests.conftest import ROOT

PLAN = protocol.load(ROOT / "study" / "params.yaml")


@pytest.fixture(scope="module")
def stages() -> dict:
    with Repo(str(ROOT / "study")) as repo:  # the study's own DVC project
        return {stage.name: stage for stage in repo.index.stages}


def test_dvc_expands_exactly_the_protocol_s_cells(stages):
    cells = [cell.name for stage in ("tune", "rerun") for cell in PLAN.cells(stage)]
    per_problem = [f"inputs@{problem.name}" for problem in PLAN.problems]
    assert sorted(stages) == sorted([*per_problem, *cells, "select", "report"])


def options(cmd: str) -> dict:
    words = shlex.split(cmd.removeprefix("cd .. && "))  # it runs from the repository root
    return dict(zip(words[3::2], words[4::2], strict=True))


@pytest.mark.parametrize("stage", ["tune", "rerun"])
def test_each_cell_stage_runs_that_cell_into_its_file(stages, stage):
    for cell in PLAN.cells(stage):
        dvc_stage = stages[cell.name]
        assert dvc_stage.cmd.startswith("cd .. && python -m stages.study_cell ")
        args = options(dvc_stage.cmd)
        assert (args["--problem"], args["--arm"]) == (cell.problem, cell.arm)
        assert int(args["--seed"]) == cell.seed
        assert args["--raw"] == f"{protocol.DATA}/{cell.problem}"
        if stage == "tune":
            assert float(args["--lr"]) == cell.lr
        else:
            assert args["--lr-from"] == f"{protocol.SELECTED}/{cell.problem}/{cell.arm}.json"
        assert args["--out"] == str(cell.path)
        assert [f"study/{out.def_path}" for out in dvc_stage.outs] == [str(cell.path)]
        assert not dvc_stage.outs[0].use_cache  # in git: a fresh clone has every result


def test_a_rerun_depends_on_its_own_arm_s_choice_and_its_problem_s_inputs_only(stages):
    deps = [dep.def_path for dep in stages["rerun@fashion-mnist-adam-128-101"].deps]
    assert sorted(deps) == ["inputs/fashion-mnist.json", "selected/fashion-mnist/adam-128.json"]
