"""What the study's engine adds to the training it runs, measured side by side in one run.

Run after `dvc repro download` (it copies data/raw):

    python -m benchmarks.study              # ~6 min a round on 2 cores

A temporary copy of the project (the working tree as it is) gets a small protocol with the real
cells: MNIST alone, 2 arms, 4 lrs, 2 tuning seeds, 2 rerun seeds, 10 epochs, so 16 tuning cells
and 4 reruns. Each round times, one after the other so that drift in machine speed hits all:
(a) back to back: one process imports torch once and trains the 20 cells one after another with
    the study's own `cells.run`, choosing each arm's lr in between as `select` does;
(b) the engine, one worker: `python -m mnist_pipeline.study --jobs 1` from nothing (no results,
    no lock, no run-cache), which runs the same 20 trainings and adds DVC's status calls, the
    records in study/dvc.lock and the run-cache, and the select and report stages;
(c) the engine with one worker per core: what the machine does with all of them;
(d) the engine on a Dask cluster of this machine: a scheduler and one `dask worker` per core,
    each a separate process on 127.0.0.1, started fresh before the round (untimed, as a cluster
    outlives the runs it serves): `python -m mnist_pipeline.study --scheduler ADDRESS`.
The overhead is b / a per round (same work on the same single core); c / a is the speed-up, and
d / c what Dask's scheduler, its messages and the pickled results cost against local processes.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_pipeline import runtime

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = """\
problems: [mnist]
arms: [momentum-128, adam-128]
reference: momentum
optimizers:
  momentum: {algorithm: sgd, momentum: 0.9, nesterov: false, weight_decay: 0.0}
  adam: {algorithm: adam, beta1: 0.9, beta2: 0.999, weight_decay: 0.0}
epochs: 10
schedule: cosine
val_size: 5000
lrs: [0.001, 0.00316, 0.01, 0.0316]
lr_room: 0
seeds: {tuning: [1, 2], rerun: [101, 102]}
good_range: {mnist: 0.002}
targets: {mnist: [0.975, 0.98]}
margins: {mnist: {test_acc: 0.001, test_loss: 0.005}}
threads: 1
"""
# (a): the cells in one process, as the engine's worker runs them, without DVC.
BACK_TO_BACK = """\
from pathlib import Path
from mnist_pipeline import runtime
from mnist_pipeline.study import analysis, cells, protocol

plan = protocol.load().on("mnist")
model, settings = protocol.root_settings()
runtime.pin_cpu_kernels(settings.cpu_kernels)
device = runtime.start(plan.threads, settings.device)
scratch = Path("scratch-cells")
for cell in plan.cells("tune"):
    cells.run(cell, cell.lr, plan, model.hidden, Path("data/raw"), device, scratch / cell.file)
scores = analysis.tuning_scores(plan, scratch)
chosen = analysis.choose(plan, analysis.sensitivity(scores))
for cell in plan.cells("rerun"):
    lr = chosen[cell.arm]
    cells.run(cell, lr, plan, model.hidden, Path("data/raw"), device, scratch / cell.file)
"""


def copy_project(dest: Path) -> Path:
    """A git repo of the working tree's files, with this checkout's data/raw."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "data" / "raw", dest / "data" / "raw")
    (dest / "study" / "params.yaml").write_text(PROTOCOL)
    for name in (
        "cells",
        "inputs",
        "selected",
        "plots",
        "figures",
        "dvc.lock",
        "results.json",
        "metrics.json",
        "report.md",
    ):
        path = dest / "study" / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "benchmark"], cwd=dest, check=True)
    return dest


def reset(project: Path) -> None:
    """Back to the committed state: no cell results, no lock entries, no run-cache."""
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=project, check=True)
    # -x: the study's run-cache too, in study/.dvc/cache, which git ignores.
    subprocess.run(["git", "clean", "-fdxq", "study", "scratch-cells"], cwd=project, check=True)


@contextlib.contextmanager
def dask_cluster(project: Path, workers: int):
    """A Dask scheduler and `workers` single-threaded workers on 127.0.0.1, running `project`'s
    code; yields the scheduler's address, and stops every process it started by its id."""
    dask = [str(Path(sys.executable).parent / "dask")]
    env = {**os.environ, "PYTHONPATH": str(project)}
    folder = Path(tempfile.mkdtemp(prefix="dask-", dir=project.parent))
    processes = []

    def start(*args: str) -> None:
        with open(folder / f"{len(processes)}.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [*dask, *args, "--no-dashboard"],
                    cwd=project,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            if time.monotonic() > deadline:
                sys.exit(f"the Dask cluster did not start: see {folder}")
            time.sleep(0.05)

    try:
        file = folder / "scheduler.json"
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(file))
        wait_for(lambda: file.exists() and file.read_text())
        address = json.loads(file.read_text())["address"]
        for n in range(workers):
            start(
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--local-directory",
                str(folder / f"w{n}"),
            )
        logs = [folder / f"{n + 1}.log" for n in range(workers)]
        wait_for(lambda: all("Registered to" in log.read_text() for log in logs))
        yield address
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def timed(command: list[str], project: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {runtime.machine_name()}")
    with tempfile.TemporaryDirectory(prefix="benchmark-study-") as tmp:
        project = copy_project(Path(tmp) / "project")
        study = [sys.executable, "-m", "mnist_pipeline.study"]
        commands = {
            "a": [sys.executable, "-c", BACK_TO_BACK],
            "b": [*study, "--jobs", "1"],
            "c": [*study, "--jobs", str(cores)],
        }
        seconds = {name: [] for name in [*commands, "d"]}
        print(
            f"round  (a) back to back  (b) engine, 1 worker  b/a  (c) engine, {cores} jobs  c/a"
            f"  (d) Dask, {cores} workers  d/c"
        )
        for round_ in range(1, args.rounds + 1):
            for name, command in commands.items():
                reset(project)
                seconds[name].append(timed(command, project))
            reset(project)
            with dask_cluster(project, cores) as address:
                seconds["d"].append(timed([*study, "--scheduler", address], project))
            a, b, c, d = (seconds[name][-1] for name in seconds)
            print(
                f"{round_:>5}  {a:>15.1f}s  {b:>19.1f}s  {b / a:.2f}  {c:>21.1f}s  {c / a:.2f}"
                f"  {d:>20.1f}s  {d / c:.2f}"
            )

        def median_ratio(top: str, bottom: str) -> str:
            ratios = [x / y for x, y in zip(seconds[top], seconds[bottom], strict=True)]
            low, high = min(ratios), max(ratios)
            return f"{statistics.median(ratios):.2f} (range {low:.2f}-{high:.2f})"

        print(
            f"median: engine overhead b/a {median_ratio('b', 'a')}; with {cores} workers c/a "
            f"{median_ratio('c', 'a')}; on {cores} Dask workers d/c {median_ratio('d', 'c')}"
        )


if __name__ == "__main__":
    main()
