"""The optimizer study end to end on a tiny protocol (both problems, 2 arms, 2 lrs x 2 tuning
seeds, 2 rerun seeds, 1 epoch on 10,000 training images), through the engine and the real `dvc`
CLI in a temporary clone."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    BIN,
    copy_project,
    dvc,
    git_commit,
    one_error,
    run,
    set_param,
    user_env,
)

pytestmark = pytest.mark.e2e

TINY = """\
problems: [mnist, fashion-mnist]
arms: [momentum-128, adam-128]
reference: momentum
optimizers:
  momentum: {algorithm: sgd, momentum: 0.9, nesterov: false, weight_decay: 0.0}
  adam: {algorithm: adam, beta1: 0.9, beta2: 0.999, weight_decay: 0.0}
epochs: 1
schedule: cosine
val_size: 50000  # 10,000 images left to train on: ~0.25 s a cell on one core, not ~0.66 s
lrs:
  - 0.01
  - 0.1
lr_room: 0
seeds:
  tuning: [1, 2]
  rerun: [101, 102]
good_range: {mnist: 0.002, fashion-mnist: 0.004}
targets: {mnist: [0.9, 0.975], fashion-mnist: [0.8, 0.85]}
margins:
  mnist: {test_acc: 0.001, test_loss: 0.005}
  fashion-mnist: {test_acc: 0.002, test_loss: 0.02}
threads: 1
"""


def study(project, *args, check=True, env=None):
    command = ["python", "-m", "mnist_pipeline.study", *args]
    return run(command, cwd=project, check=check, env_extra=env)


def trained(result) -> list[int]:
    """How many cells the engine said it trains, tune then rerun."""
    return [int(n) for n in re.findall(r"study: \w+: .*; training (\d+),", result.stderr)]


def restored(result) -> list[int]:
    return [int(n) for n in re.findall(r"(\d+) restored from DVC's run-cache", result.stderr)]


def stale(project) -> str:
    return dvc("status", cwd=project / "study").stdout  # the study's own DVC project


@pytest.fixture(scope="module")
def tiny_base(prepared_project, tmp_path_factory):
    """A copy of the prepared project whose study is the tiny protocol, never run."""
    project = copy_project(prepared_project, tmp_path_factory.mktemp("study") / "base")
    (project / "study" / "params.yaml").write_text(TINY)
    for folder in ("cells", "selected", "plots", "figures", "inputs"):
        run(["rm", "-rf", f"study/{folder}"], cwd=project)
    for name in ("dvc.lock", "results.json", "metrics.json", "report.md"):
        (project / "study" / name).unlink(missing_ok=True)
    git_commit(project, "tiny study")
    return project


@pytest.fixture(scope="module")
def tiny(tiny_base, tmp_path_factory):
    return copy_project(tiny_base, tmp_path_factory.mktemp("study") / "p")


def test_the_study_survives_a_failed_cell_reuses_what_ran_and_matches_dvc_s_own_run(tiny):
    # A folder where one cell's result goes: that cell fails, for real, when it writes.
    blocker = tiny / "study" / "cells" / "tune" / "mnist" / "adam-128-0.1-1.json"
    blocker.mkdir(parents=True)
    failed = study(tiny, "--jobs", "2", check=False)
    line = one_error(failed)
    assert line.startswith(
        "error: study: 1 of 16 tune cells failed, first tune@mnist-adam-128-0.1-1:"
    )
    assert not (tiny / "study" / "report.md").exists()  # nothing written downstream
    assert "tune@mnist-momentum-128-0.01-1" not in stale(tiny)  # what finished is recorded
    assert "tune@mnist-adam-128-0.1-1" in stale(tiny)

    blocker.rmdir()
    result = study(tiny, "--jobs", "2")
    assert trained(result) == [1, 8], result.stderr  # only the failed cell, then the reruns
    assert "up to date" in stale(tiny)
    report = (tiny / "study" / "report.md").read_text()
    # One table and one set of verdicts per problem, each with its own margins.
    overview, rest = report.split("\n## MNIST\n")
    assert "| MNIST | adam-128 |" in overview and "| Fashion-MNIST | adam-128 |" in overview
    mnist, fashion = rest.split("\n## Fashion-MNIST\n")
    assert "equivalent ±0.001?" in mnist
    assert "equivalent ±0.002?" in fashion and "DeepOBS fmnist_mlp: Adam" in fashion
    for part in (mnist, fashion):
        assert "| adam-128 |" in part and "| momentum-128 |" in part
        assert "- **adam-128**, test acc:" in part and "over seeds and test images" in part
    results = json.loads((tiny / "study" / "results.json").read_text())
    for problem in ("mnist", "fashion-mnist"):
        arms = results[problem]
        assert arms["adam-128"]["test_acc"]["n"] == 2
        assert "vs_reference" in arms["adam-128"] and "vs_reference" not in arms["momentum-128"]
        images = arms["adam-128"]["vs_reference"]["test_acc"]["images"]
        assert images["resamples"] == 9999 and images["ci95"][0] < images["ci95"][1]
        for name in ("sensitivity", "budget", "paired", "curves"):
            assert (tiny / "study" / "figures" / problem / f"{name}.png").stat().st_size > 10_000
    git_commit(tiny, "studied")

    # DVC running the stage command itself, in a fresh process, writes the same bytes as the
    # engine's worker did: a rerun's per-image scores included.
    dvc("repro", "--force", "--single-item", "tune@mnist-adam-128-0.1-2", cwd=tiny / "study")
    rerun = "rerun@fashion-mnist-momentum-128-102"
    dvc("repro", "--force", "--single-item", rerun, cwd=tiny / "study")
    assert run(["git", "status", "--porcelain"], cwd=tiny).stdout == ""


def chosen(project) -> dict:
    folder = project / "study" / "selected"
    return {
        f"{path.parent.name} {path.stem}": path.read_text()
        for path in sorted(folder.glob("*/*.json"))
    }


def test_adding_an_lr_trains_only_its_cells_and_the_reruns_of_arms_whose_choice_moved(tiny):
    before = chosen(tiny)
    params = tiny / "study" / "params.yaml"
    params.write_text(params.read_text().replace("  - 0.1\n", "  - 0.1\n  - 0.0316\n"))
    result = study(tiny, "--jobs", "2")
    moved = [arm for arm, lr in chosen(tiny).items() if before[arm] != lr]
    assert trained(result) == [8, 2 * len(moved)], (result.stderr, moved)
    assert "up to date" in stale(tiny)
    run(["git", "checkout", "--", "."], cwd=tiny)
    run(["git", "clean", "-fdq", "study"], cwd=tiny)


def test_a_change_to_the_protocol_or_the_code_makes_every_cell_stale(tiny):
    assert "up to date" in stale(tiny)
    params = tiny / "study" / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 1", "epochs: 2"))
    status = stale(tiny)
    assert "inputs@mnist:" in status and "inputs@fashion-mnist:" in status
    assert "epochs" in status
    # A problem's verdict settings are the report's alone: a new Fashion-MNIST margin makes
    # only the report stale, and no cell, selection or fingerprint.
    params.write_text(TINY.replace("test_acc: 0.002", "test_acc: 0.003"))
    status = stale(tiny)
    assert re.findall(r"^(\S+):$", status, re.MULTILINE) == ["report"], status
    assert re.search(r"modified:\s+margins$", status, re.MULTILINE), status
    run(["git", "checkout", "--", "study/params.yaml"], cwd=tiny)

    training = tiny / "mnist_pipeline" / "training.py"
    training.write_text(training.read_text() + "\n# a change\n")
    # The root's `dvc status` never loads the study (a DVC project of its own); the commit hook
    # checks both projects, so a stale study cannot be committed unnoticed.
    hook = run(
        ["pre-commit", "run", "dvc-lock", "--all-files"],
        cwd=tiny,
        check=False,
        env_extra={"PRE_COMMIT_HOME": str(tiny.parent / "pre-commit")},  # not the user's cache
    )
    assert hook.returncode == 1, hook.stdout
    assert "inputs@mnist:" in hook.stdout and "training.py" in hook.stdout, hook.stdout
    assert " study/dvc.lock: not what the pipeline above records" in hook.stdout, hook.stdout
    # Once the fingerprint is rewritten (the engine's first step), every cell is stale.
    dvc("repro", "--single-item", "inputs", cwd=tiny / "study")
    status = stale(tiny)
    cells = [line for line in status.splitlines() if re.match(r"(tune|rerun)@", line)]
    assert len(cells) == 2 * (8 + 4) and "inputs/fashion-mnist.json" in status, status
    run(["git", "checkout", "--", "."], cwd=tiny)
    assert "up to date" in stale(tiny)

    # The study reads its own copy of each problem's data: the pipeline's data version
    # (`data.dataset`, and what that puts in data/raw) leaves it up to date.
    set_param(tiny, "data.dataset", "fashion-mnist")
    assert "up to date" in stale(tiny)
    run(["git", "checkout", "--", "params.yaml"], cwd=tiny)


class Cluster:
    """A Dask scheduler and `dask worker`s, each a separate process on 127.0.0.1 (each standing
    in for a machine), stopped by its process id when the test ends."""

    def __init__(self, folder: Path, checkout: Path):
        self.folder, self.processes = folder, {}
        # The scheduler unpickles the tasks too: it runs with the driver's code, as Dask expects.
        self.start("scheduler", checkout, "scheduler", "--host", "127.0.0.1", "--port", "0")
        file = folder / "scheduler.json"
        wait_for(lambda: file.exists() and file.read_text(), file)
        self.address = json.loads(file.read_text())["address"]

    def start(self, name: str, checkout: Path, *args: str) -> None:
        if args[0] == "scheduler":
            args = (*args, "--scheduler-file", str(self.folder / "scheduler.json"))
        with open(self.folder / f"{name}.log", "w") as log:  # the process keeps its own copy
            self.processes[name] = subprocess.Popen(
                [BIN / "dask", *args, "--no-dashboard"],
                cwd=checkout,
                env=user_env({"PYTHONPATH": str(checkout)}),  # the checkout's code, as on a machine
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def worker(self, name: str, checkout: Path) -> None:
        """A worker with one thread and no nanny, so that killing its id kills the worker."""
        options = ["--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--name", name]
        scratch = ["--local-directory", str(self.folder / f"{name}-scratch")]
        self.start(name, checkout, "worker", self.address, *options, *scratch)
        log = self.folder / f"{name}.log"
        wait_for(lambda: "Registered to" in log.read_text(), log)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)


def driver(command: list[str], project: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=project,
        env=user_env(),
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: pytest's children would otherwise inherit SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition, what, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: still waiting after {timeout} s"
        time.sleep(0.02)


def one_problem(project: Path, problem: str) -> None:
    """Narrow the project's tiny study to `problem`, committed: its cells are the same stages,
    commands and bytes as in the two-problem study."""
    raw = yaml.safe_load(TINY)
    raw["problems"] = [problem]
    for key in ("good_range", "targets", "margins"):
        raw[key] = {problem: raw[key][problem]}
    (project / "study" / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    git_commit(project, f"the tiny study on {problem} alone")


def tracked(project: Path, problem: str) -> dict:
    """`problem`'s files of the study that git sees, by content (its cells, choices,
    fingerprint, plot data and figures), and its stages' entries in the lock file."""
    listed = ["git", "ls-files", "--others", "--cached", "--exclude-standard", "study"]
    names = run(listed, cwd=project).stdout.split()
    mine = [name for name in names if f"/{problem}/" in name or f"/{problem}." in name]
    lock = yaml.safe_load((project / "study" / "dvc.lock").read_text())["stages"]
    entries = {
        name: entry
        for name, entry in lock.items()
        if name.endswith(f"@{problem}") or f"@{problem}-" in name
    }
    return {name: (project / name).read_bytes() for name in mine} | {"lock": entries}


def test_the_study_across_machines_shared_cache_then_dask_workers_gives_the_local_run_s_bytes(
    tiny, tiny_base, tmp_path
):
    # Collected after the tests above: `tiny` holds the local engine's whole run, committed.
    # Here one of its problems, whose cells are the same stages: half the training.
    project = copy_project(tiny_base, tmp_path / "driver")
    one_problem(project, "fashion-mnist")
    # First, two machines with one DVC cache on a shared disk: another clone trains a share.
    shared, there = tmp_path / "shared-cache", copy_project(project, tmp_path / "there")
    for clone in (project, there):  # the study's own DVC project keeps the run-cache
        dvc("cache", "dir", "--local", str(shared), cwd=clone / "study")
    share = study(there, "--cells", "tune@*-adam-*")
    assert trained(share) == [4] and "4 stale tune cells do not match" in share.stderr
    assert not (there / "study" / "selected").exists()  # select waits for every tuning cell

    connect_in_1s = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}  # Dask's own setting
    nobody = study(project, "--scheduler", "tcp://127.0.0.1:9", check=False, env=connect_in_1s)
    assert one_error(nobody).startswith(
        "error: --scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 1 s"
    )
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""  # nothing written

    cluster = Cluster(tmp_path, project)
    try:
        # A machine whose checkout has other code refuses every cell it gets, and none is
        # recorded; the shared cache's cells are restored, not trained.
        other = copy_project(project, tmp_path / "other")
        with open(other / "mnist_pipeline" / "training.py", "a") as training:
            training.write("# another version\n")
        cluster.worker("other", other)
        refused = study(project, "--scheduler", cluster.address, check=False)
        line = one_error(refused)
        assert restored(refused) == [4], refused.stderr
        assert line.startswith("error: study: 4 of 4 tune cells failed, first tune@"), line
        assert f"in {other}: mnist_pipeline/training.py differs from the driver's" in line, line
        cells = project / "study" / "cells"
        assert sorted(path.relative_to(cells) for path in cells.glob("*/*/*.json")) == sorted(
            path.relative_to(there / "study" / "cells")
            for path in (there / "study" / "cells").glob("*/*/*.json")
        )
        assert len(re.findall(r"^tune@\S+-momentum", stale(project), re.MULTILINE)) == 4
        cluster.kill("other")

        # Two machines with the driver's code. Ctrl-C on the driver once a result is in: the
        # cells that finished are recorded, and only the others are trained again.
        cluster.worker("a", copy_project(project, tmp_path / "a"))
        cluster.worker("b", copy_project(project, tmp_path / "b"))
        command = ["python", "-m", "mnist_pipeline.study", "--scheduler", cluster.address]

        def finished() -> list[Path]:
            return sorted(cells.glob("*/*/*.json"))

        with driver(command, project) as interrupted:
            wait_for(lambda: len(finished()) > 4, cells)
            interrupted.send_signal(signal.SIGINT)
            stderr = interrupted.communicate(timeout=60)[1]
        assert "error: interrupted: the tune cells that finished are recorded" in stderr, stderr
        recorded, status = finished(), stale(project)
        names = [f"@{path.parent.name}-{path.stem}:" for path in recorded]
        assert not [name for name in names if name in status], status
        # Run again; one worker dies (SIGKILL) once a new result is in, and the study finishes.
        with driver(command, project) as again:
            wait_for(lambda: len(finished()) > len(recorded), cells)
            cluster.kill("a")
            stderr = again.communicate(timeout=300)[1]
        assert again.returncode == 0, stderr
        assert f"on the Dask workers at {cluster.address}" in stderr, stderr
    finally:
        cluster.stop()
    assert "up to date" in stale(project)
    # Byte for byte the local engine's results, whether restored from the other clone's cache
    # or trained by a Dask worker: every file of the problem, its lock entries included.
    assert tracked(project, "fashion-mnist") == tracked(tiny, "fashion-mnist")
