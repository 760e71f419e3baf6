"""The seed sweep through the real DVC experiment queue, on 1-epoch runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_project, dvc, one_error, run, user_env

pytestmark = pytest.mark.e2e

OUTPUTS = ("metrics/seeds.json", "plots/seeds.csv", "plots/seeds.png")


def sweep(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "mnist_pipeline.sweep", *args], cwd=project, check=check)


def experiments(project: Path) -> dict[str, str]:
    """Experiment name -> its commit, for the finished experiments of HEAD."""
    refs = run(["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps"], project)
    return {
        line.split()[0].rsplit("/", 1)[1]: line.split()[1]
        for line in refs.stdout.splitlines()
        if "/exec/" not in line
    }


def test_a_sweep_reuses_a_pulled_seed_keeps_what_finished_after_a_crash_and_reruns_the_rest(
    trained_project, tmp_path
):
    project = copy_project(trained_project, tmp_path / "p")
    before = {path: read(project / path) for path in OUTPUTS}
    # seed-1 runs on another machine and comes back through git and a DVC remote.
    run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], cwd=tmp_path)
    run(["git", "remote", "add", "origin", str(tmp_path / "origin.git")], cwd=project)
    run(["git", "push", "-q", "origin", "HEAD"], cwd=project)
    dvc("remote", "add", "-d", "--local", "storage", str(tmp_path / "dvc-remote"), cwd=project)
    dvc("push", "-q", cwd=project)
    elsewhere = tmp_path / "elsewhere"
    run(["git", "clone", "-q", str(tmp_path / "origin.git"), str(elsewhere)], cwd=tmp_path)
    dvc("remote", "add", "-d", "--local", "storage", str(tmp_path / "dvc-remote"), cwd=elsewhere)
    dvc("pull", "-q", cwd=elsewhere)
    dvc("exp", "run", "-n", "seed-1", "-S", "seed=1", cwd=elsewhere)
    dvc("exp", "push", "origin", "seed-1", cwd=elsewhere)
    dvc("exp", "pull", "origin", "seed-1", cwd=project)
    pulled = experiments(project)["seed-1"]

    # The sweep reuses it and queues seed-2 only, whose training then dies, as in a crash.
    command = [sys.executable, "-m", "mnist_pipeline.sweep", "--seeds", "2", "--jobs", "2"]
    with subprocess.Popen(
        command,
        cwd=project,
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        deadline = time.monotonic() + 600
        while not (victims := training_processes(project)):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=600)
    assert "1 of 2 seeds already ran for this commit and params; running seed-2" in stderr
    error = one_error(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    assert error.startswith("error: seed-2 did not finish (1 of 2 did and are kept)"), error
    assert "`dvc queue logs seed-2`" in error
    assert {path: read(project / path) for path in OUTPUTS} == before  # nothing written

    rerun = sweep(project, "--seeds", "2", "--jobs", "2")
    assert "1 of 2 seeds already ran for this commit and params; running seed-2" in rerun.stderr
    runs = experiments(project)
    assert runs["seed-1"] == pulled and "seed-2" in runs
    table = pd.read_csv(project / "plots/seeds.csv")
    shown = json.loads(dvc("exp", "show", "--json", cwd=project).stdout)
    accuracies = {
        exp["name"]: exp["data"]["metrics"]["metrics/sgd.json"]["data"]["test"]["acc"]
        for baseline in shown
        for group in baseline.get("experiments") or []
        for exp in group["revs"]
        # The crashed seed-2 is still listed, as failed.
        if exp.get("name") in ("seed-1", "seed-2")
        and (group.get("executor") or {}).get("state") != "failed"
    }
    assert table.seed.tolist() == [1, 2]
    assert table.sgd_acc.tolist() == [accuracies["seed-1"], accuracies["seed-2"]]
    summary = json.loads((project / "metrics/seeds.json").read_text())
    assert summary["seeds"] == [1, 2]
    assert summary["sgd"]["test_acc"]["mean"] == pytest.approx(table.sgd_acc.mean(), abs=1e-6)
    low, high = summary["sgd_minus_adam"]["test_acc"]["ci95"]
    assert low < summary["sgd_minus_adam"]["test_acc"]["mean"] < high
    assert "95 % CI" in summary["verdict"] and summary["verdict"] in rerun.stdout
    assert (project / "plots/seeds.png").read_bytes()[:4] == b"\x89PNG"

    again = sweep(project, "--seeds", "2")
    assert "2 of 2 seeds already ran for this commit and params; running none" in again.stderr
    assert experiments(project) == runs


def training_processes(project: Path) -> set[int]:
    """The train stages running in an experiment of `project` (their folders are inside it)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            folder = Path(os.readlink(entry / "cwd"))
        except (OSError, ValueError):
            continue
        if b"stages.train" in command and folder.is_relative_to(project.resolve()):
            found.add(int(entry.name))
    return found


def read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None
