"""`make check-lock`, which `make test` runs first, in a scratch copy of the lock files.

It resolves again against the package index (network), so each case takes a few seconds.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCK_FILES = [
    "Makefile",
    "requirements.in",
    "requirements.txt",
    "requirements-test.in",
    "requirements-test.txt",
]
# The uv of the environment running the tests: the one `make` installed from the lock.
UV = Path(sys.executable).with_name("uv")


def copy_lock_files(folder: Path) -> None:
    for name in LOCK_FILES:
        shutil.copy(ROOT / name, folder / name)


def check_lock(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--silent", "--no-print-directory", "check-lock", f"UV={UV}"],
        cwd=folder,
        capture_output=True,
        text=True,
    )


def test_check_lock_passes_on_the_committed_locks(tmp_path):
    copy_lock_files(tmp_path)
    result = check_lock(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "edited, stale",
    [("requirements.in", "requirements.txt"), ("requirements-test.in", "requirements-test.txt")],
)
def test_check_lock_fails_when_a_pin_is_added_and_leaves_the_lock_alone(tmp_path, edited, stale):
    copy_lock_files(tmp_path)
    # six is already locked (python-dateutil needs it): only the lock's annotations change.
    with open(tmp_path / edited, "a") as file:
        file.write("six==1.17.0\n")
    locks_before = {name: (tmp_path / name).read_bytes() for name in LOCK_FILES}

    result = check_lock(tmp_path)

    assert result.returncode != 0
    assert f"error: {stale} is stale" in result.stdout
    assert "run `make lock`" in result.stdout
    assert {name: (tmp_path / name).read_bytes() for name in LOCK_FILES} == locks_before
