"""A study worker's check of its checkout against the driver's fingerprint: it trains only with
the driver's code and data, and says which file differs."""

import pytest

from mnist_pipeline.errors import UserError
from mnist_pipeline.files import sha256
from mnist_pipeline.study import worker
from tests.conftest import ROOT

CODE, DATA = "mnist_pipeline/training.py", "study/params.yaml"  # files every checkout has


def fingerprint(code: str | None = None, data: str | None = None) -> dict:
    return {
        "code": {CODE: code or sha256(ROOT / CODE)},
        "data": {DATA: data or sha256(ROOT / DATA)},
    }


def test_a_worker_with_the_driver_s_files_trains():
    worker.check(fingerprint())  # no error


@pytest.mark.parametrize("kind", ["code", "data"])
def test_a_worker_refuses_a_file_that_differs_and_names_it(kind):
    other = "0" * 64
    with pytest.raises(UserError) as refused:
        worker.check(fingerprint(**{kind: other}))
    name = CODE if kind == "code" else DATA
    message = str(refused.value)
    assert f"in {ROOT}: {name} differs from the driver's (sha256 " in message
    assert f", 000000000000 on the driver): give this worker the driver's {kind}" in message
    assert "\n" not in message


def test_a_worker_refuses_a_file_it_does_not_have():
    prints = fingerprint()
    prints["data"]["data/raw/no-such-file"] = "0" * 64
    with pytest.raises(UserError, match="data/raw/no-such-file is missing; the driver has it"):
        worker.check(prints)
