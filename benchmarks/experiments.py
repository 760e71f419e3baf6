"""What an experiment costs beyond its training, and how much memory `download` takes.

Run after `dvc repro` (it copies this checkout's data/ and models/):

    python -m benchmarks.experiments

In a temporary copy of the project (the working tree as it is, committed or not, with its
data and models), each round times, one after the other so that drift in machine speed hits
all of them:
(a) the `train_sgd` command of dvc.yaml, run alone;
(b) `dvc exp run -S train_sgd.lr=V`, a one-param change that reruns train_sgd and every stage
    after it. V is new each round, so DVC's run cache never replays a stage;
then each stage command that (b) reran, alone, and the fixed costs every command pays. The
ratio b / a is taken per round; its median and range are printed. Each cost is shown as wall
seconds and as CPU seconds (user + system, of every process the command ran): on a machine
shared with other jobs the wall time of training swings with their load, its CPU time less.
What (b) takes beyond the sum of the stage commands is DVC's own work: hashing, locking,
writing dvc.lock, the experiment commit.

Last, `python -m stages.download` runs once with the `auto` source, under a wrapper that reads
the peak RSS of the stage process itself and of the largest process it started (`pip
download`, or the one that reads torchvision's mirror list), each while the stage process
waits on it.
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import yaml

from mnist_pipeline import runtime

ROOT = Path(__file__).resolve().parent.parent
# Cached outputs are not in git: the copy takes them from this checkout.
PREPARED = ("data/raw", "data/processed", "models/adam.pt", "models/sgd.pt")
CHANGED_STAGE = "train_sgd"
# Runs `python -m stages.download OUT` in this process and prints the peak RSS (KiB) of this
# process and of the largest child it waited for.
DOWNLOAD_CHILD = """\
import json, resource, runpy, sys
sys.argv = ["stages.download", sys.argv[1]]
try:
    runpy.run_module("stages.download", run_name="__main__", alter_sys=True)
except SystemExit as end:
    code = end.code
usage = {who: resource.getrusage(getattr(resource, who)).ru_maxrss for who in
         ("RUSAGE_SELF", "RUSAGE_CHILDREN")}
print(json.dumps({"exit": code, **usage}))
"""


def machine() -> str:
    """The CPU and the versions that set the cost of every command."""
    info = runtime.cpu_info()
    flags = info.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    cpu = info.get("model name") or platform.processor()
    return (
        f"{cpu} ({isa}), {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"dvc {version('dvc')}, torch {version('torch')}"
    )


def copy_project(dest: Path) -> Path:
    """A git repo holding the working tree's files and its prepared data and models."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in [*filter(None, listed.split("\0")), *PREPARED]:
        source, target = ROOT / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.is_file():
            shutil.copy2(source, target)
        elif name in PREPARED:
            sys.exit(f"error: {source} is missing: run `dvc repro` first")
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "benchmark"],
        # Into the copy's cache, as `dvc repro` left them here: nothing is stale or missing.
        ["dvc", "commit", "-f", "-q"],
    ):
        subprocess.run(command, cwd=dest, check=True, capture_output=True)
    return dest


def stage_commands(project: Path) -> dict[str, list[str]]:
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    return {
        name: stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
        for name, stage in stages.items()
    }


class Cost(NamedTuple):
    wall: float
    cpu: float  # user + system seconds of every process the command ran

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.wall + other.wall, self.cpu + other.cpu)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str] | str, cwd: Path) -> tuple[Cost, str]:
    """What `command` (a shell line if a string, as DVC runs a stage) costs, and its output;
    fails on a non-zero exit."""
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, shell=isinstance(command, str), capture_output=True, text=True
    )
    cost = Cost(time.perf_counter() - started, children_cpu() - cpu)
    if result.returncode != 0:
        sys.exit(f"error: {command} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return cost, result.stdout + result.stderr


def spread(values: list[float], unit: str = "s") -> str:
    """'median (min-max)'."""
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def row(label: str, costs: list[Cost], unit: str = "s") -> str:
    walls, cpus = zip(*costs, strict=True)
    return f"  {label:<34}{spread(walls, unit):>24}{spread(cpus, unit):>24}"


FIXED_COSTS = {
    "python start": [sys.executable, "-c", "pass"],
    "python + import torch": [sys.executable, "-c", "import torch"],
    "dvc repro, nothing to run": ["dvc", "repro", "-q"],
}


def experiment_cost(project: Path, rounds: int) -> None:
    commands = stage_commands(project)
    train_alone: list[Cost] = []
    experiment: list[Cost] = []
    per_stage: dict[str, list[Cost]] = {}
    fixed: dict[str, list[Cost]] = {name: [] for name in FIXED_COSTS}
    base_lr = yaml.safe_load((project / "params.yaml").read_text())[CHANGED_STAGE]["lr"]
    rerun: list[str] = []
    for number in range(1, rounds + 1):
        train_alone.append(measure(commands[CHANGED_STAGE][0], project)[0])
        lr = round(base_lr + number / 1000, 6)
        cost, output = measure(["dvc", "exp", "run", "-S", f"{CHANGED_STAGE}.lr={lr}"], project)
        experiment.append(cost)
        rerun = re.findall(r"Running stage '(\w+)'", output)
        for stage in rerun:
            costs = [measure(cmd, project)[0] for cmd in commands[stage]]
            per_stage.setdefault(stage, []).append(sum(costs, Cost(0, 0)))
        for name, command in FIXED_COSTS.items():
            fixed[name].append(measure(command, project)[0])
        # A round can take minutes on a loaded machine: show each as it ends.
        a, b = train_alone[-1], experiment[-1]
        print(
            f"round {number}: (a) {a.wall:.2f}s wall {a.cpu:.2f}s cpu, (b) {b.wall:.2f}s wall "
            f"{b.cpu:.2f}s cpu, b / a {b.wall / a.wall:.2f}x wall {b.cpu / a.cpu:.2f}x cpu; "
            + ", ".join(f"{stage} {costs[-1].wall:.2f}s" for stage, costs in per_stage.items()),
            flush=True,
        )

    print(f"one-param change `dvc exp run -S {CHANGED_STAGE}.lr=...` reran: {', '.join(rerun)}")
    print(f"  {'':<34}{'wall, median (range)':>24}{'cpu, median (range)':>24}")
    print(row(f"(a) the {CHANGED_STAGE} command alone", train_alone))
    print(row(f"(b) dvc exp run -S {CHANGED_STAGE}.lr=...", experiment))
    pairs = zip(train_alone, experiment, strict=True)
    ratios = [Cost(b.wall / a.wall, b.cpu / a.cpu) for a, b in pairs]
    print(row("b / a, per round (goal <= 2.7x)", ratios, "x"))
    print("each rerun stage's command(s), run alone:")
    sums = [sum(costs, Cost(0, 0)) for costs in zip(*per_stage.values(), strict=True)]
    for stage, costs in per_stage.items():
        print(row(stage, costs))
    print(row("sum", sums))
    pairs = zip(experiment, sums, strict=True)
    dvc_share = [Cost(b.wall - s.wall, b.cpu - s.cpu) for b, s in pairs]
    print(row("dvc exp run beyond that sum", dvc_share))
    print("fixed costs:")
    for name, costs in fixed.items():
        print(row(name, costs))


def download_peak_rss(project: Path) -> None:
    out = project / "data" / "benchmark-raw"
    command = [sys.executable, "-c", DOWNLOAD_CHILD, str(out)]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    usage = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout else {}
    if usage.get("exit") not in (0, None):
        sys.exit(f"error: the download stage failed:\n{result.stderr[-2000:]}")
    stage_gb, child_gb = (usage[who] * 1024 / 1e9 for who in ("RUSAGE_SELF", "RUSAGE_CHILDREN"))
    print(
        f"download stage (source auto), peak RSS: the stage process {stage_gb:.2f} GB, "
        f"the largest process it started {child_gb:.2f} GB   target <= 1.0 GB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (a) and (b)")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="benchmark-pipeline-") as tmp:
        project = copy_project(Path(tmp) / "project")
        experiment_cost(project, args.rounds)
        download_peak_rss(project)


if __name__ == "__main__":
    main()
