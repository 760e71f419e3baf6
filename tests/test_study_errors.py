"""The study's command on bad input: one line naming the file and key, a non-zero exit, and
nothing written, before DVC or torch is even started."""

import pytest

from tests.conftest import ROOT, one_error, run
from tests.test_e2e_study import TINY


def study(folder, *args):
    command = ["python", "-m", "mnist_pipeline.study", *args]
    return run(command, cwd=folder, check=False, env_extra={"PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("  - 0.01\n  - 0.1\n", "  []\n", "lrs: expected a non-empty list"),
        ("  - 0.01\n", "  - -0.01\n", "lrs: expected a non-empty list of distinct numbers > 0"),
        ("rerun: [101, 102]", "rerun: [2, 102]", "seeds.rerun: 2 also tuning seeds"),
        ("test_acc: 0.001", "test_acc: 0", "margins.mnist.test_acc: expected a number > 0"),
    ],
)
def test_a_bad_protocol_is_one_line_and_writes_nothing(tmp_path, old, new, message):
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "params.yaml").write_text(TINY.replace(old, new))
    result = study(tmp_path)
    assert one_error(result).startswith(f"error: study/params.yaml: {message}")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["params.yaml", "study"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--jobs", "0"], "--jobs: expected an integer >= 1, got 0"),
        (
            ["--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"],
            "--jobs: the Dask cluster's workers decide how many cells run at once; give --jobs "
            "without --scheduler",
        ),
    ],
)
def test_bad_jobs_are_refused(tmp_path, args, message):
    assert one_error(study(tmp_path, *args)) == f"error: {message}"
    assert not list(tmp_path.iterdir())
