"""Both optimizers over several seeds, through DVC's experiment queue: is the difference real?

    python -m mnist_pipeline.sweep                  # seeds 1-5, two experiments at a time
    python -m mnist_pipeline.sweep --seeds 10 --jobs 4

Each seed is one experiment, `seed-N`: the whole pipeline with `seed: N`, so the validation
split, the initial weights and the batch order all change, for Adam and SGD alike. DVC is the
engine: `dvc exp run --queue -S seed=N` for each seed, then `dvc exp run --run-all --jobs J`.
A seed whose experiment already ran for this commit with these params is reused, not retrained,
so a sweep that stopped halfway picks up where it stopped. The results come back from DVC
(`dvc.api.exp_show`, and each run's curves through `dvc.api.read`) and are written to:

    metrics/seeds.json  per optimizer: mean, std, min and max of test accuracy and loss; the
                        paired difference SGD - Adam with its 95 % confidence interval, and one
                        sentence on what it supports
    plots/seeds.csv     one row per seed
    plots/seeds.png     each seed's test accuracy; mean validation curves with a band

Commit them, so the answer stays with the code and params that produced it.
"""

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

from mnist_pipeline import cli, figures, params, seed_stats
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import write_csv, write_json

NAMES = ("adam", "sgd")
SUMMARY, TABLE, FIGURE = (
    Path("metrics/seeds.json"),
    Path("plots/seeds.csv"),
    Path("plots/seeds.png"),
)


def main(args) -> None:
    if args.seeds < 2:
        raise UserError(
            f"--seeds: expected an integer >= 2 (a spread needs two runs), got {args.seeds}"
        )
    if args.jobs < 1:
        raise UserError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    seeds = list(range(1, args.seeds + 1))
    finished = finished_runs(seeds)
    todo = [seed for seed in seeds if seed not in finished]
    cli.log(
        f"sweep: {len(finished)} of {len(seeds)} seeds already ran for this commit and params; "
        f"running {', '.join(f'seed-{seed}' for seed in todo) or 'none'}"
    )
    if todo:
        for seed in todo:
            dvc("exp", "run", "--queue", "--name", f"seed-{seed}", "--set-param", f"seed={seed}")
        # Its output (each stage, each epoch) goes straight to the terminal. It exits 0 even
        # when an experiment fails, so what finished is read back from DVC below.
        subprocess.run(dvc_command("exp", "run", "--run-all", "--jobs", str(args.jobs)))
        finished = finished_runs(seeds)
    failed = [f"seed-{seed}" for seed in seeds if seed not in finished]
    if failed:
        raise UserError(
            f"{', '.join(failed)} did not finish ({len(seeds) - len(failed)} of {len(seeds)} "
            f"did and are kept): `dvc queue logs {failed[0]}` shows why; run the sweep again "
            "to run only what is missing"
        )
    table, curves = gather(finished)
    summary = summarise(table)
    write_json(SUMMARY, summary)
    write_csv(TABLE, table)
    figures.save(figures.seeds(table, curves), FIGURE)
    print(table.round(4).to_string(index=False))
    print(summary["verdict"])
    cli.log(f"sweep: wrote {SUMMARY}, {TABLE}, {FIGURE}")


def finished_runs(seeds: list[int]) -> dict[int, dict]:
    """Seed -> the `dvc.api.exp_show` row of a finished experiment of this commit that ran that
    seed with the workspace's params otherwise."""
    import dvc.api

    wanted = {key: value for key, value in flat(params.load()).items() if key != "seed"}
    finished = {}
    for row in dvc.api.exp_show():
        # Baselines are the commit itself. A queued experiment that finished is a Success; one
        # run in the workspace has no State; others are Queued, Running or Failed.
        done = row["State"] in (None, "Success")
        if row["typ"] == "baseline" or not done or row.get("seed") not in seeds:
            continue
        seed = int(row["seed"])
        changed = sorted(key for key, value in wanted.items() if not same(row.get(key), value))
        if not changed:
            finished[seed] = row
        elif row["Experiment"] == f"seed-{seed}":
            raise UserError(
                f"experiment seed-{seed} ran with other params ({', '.join(changed)}): commit "
                f"the change (experiments belong to a commit) or `dvc exp remove seed-{seed}`"
            )
    return finished


def same(shown, value) -> bool:
    """Whether `dvc exp show`'s value is the param's: it shows integers as floats (1.0) and
    booleans as text ('False')."""
    return shown == value if not isinstance(value, bool) else shown in (value, str(value))


def flat(nested: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}, the way `dvc exp show` names params."""
    items = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            items.update(flat(value, f"{prefix}{key}."))
        else:
            items[f"{prefix}{key}"] = value
    return items


def gather(finished: dict[int, dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per seed (test accuracy and loss of both), and every run's validation curves."""
    import dvc.api

    rows, curves = [], []
    for seed, run in sorted(finished.items()):
        row = {"seed": seed}
        for name in NAMES:
            row[f"{name}_acc"] = run[f"metrics/{name}.json:test.acc"]
            row[f"{name}_loss"] = run[f"metrics/{name}.json:test.loss"]
            history = pd.read_csv(
                io.StringIO(dvc.api.read(f"plots/train_{name}.csv", rev=run["rev"]))
            )
            curves.append(history[["epoch", "val_acc"]].assign(name=name, seed=seed))
        row["sgd_minus_adam_acc"] = row["sgd_acc"] - row["adam_acc"]
        rows.append(row)
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def summarise(table: pd.DataFrame) -> dict:
    summary = {
        name: {
            "test_acc": seed_stats.summary(table[f"{name}_acc"].tolist()),
            "test_loss": seed_stats.summary(table[f"{name}_loss"].tolist()),
        }
        for name in NAMES
    }
    difference = {
        metric: seed_stats.paired_difference(
            table[f"adam_{metric}"].tolist(), table[f"sgd_{metric}"].tolist()
        )
        for metric in ("acc", "loss")
    }
    return {
        **summary,
        "seeds": table.seed.tolist(),
        "sgd_minus_adam": {"test_acc": difference["acc"], "test_loss": difference["loss"]},
        "verdict": seed_stats.verdict(difference["acc"], "test accuracy", "Adam", "SGD"),
    }


def dvc_command(*args: str) -> list[str]:
    """The DVC of this environment, whatever is first on PATH."""
    return [sys.executable, "-m", "dvc", *args]


def dvc(*args: str) -> None:
    result = subprocess.run(dvc_command(*args), capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
        raise UserError(f"`dvc {' '.join(args)}` failed: {lines[-1]}")


if __name__ == "__main__":
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="run seeds 1 to SEEDS")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=2,
        help="experiments at a time (each uses the threads of params.yaml)",
    )
    cli.run(main, parser)
