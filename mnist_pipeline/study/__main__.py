"""Run the optimizer study: every stale cell of study/dvc.yaml, as many at once as there are cores.

    python -m mnist_pipeline.study                       # one worker per core
    python -m mnist_pipeline.study --jobs 1
    python -m mnist_pipeline.study --scheduler tcp://HOST:8786  # on a Dask cluster's workers
    python -m mnist_pipeline.study --cells 'tune@mnist-adam-*'  # a share (a shared DVC cache)

DVC decides what is stale and records what ran; this command only runs it faster. Plain
`dvc repro` in study/ (a DVC project of its own) gives the same bytes, one cell at a time, each
in a new process that spends seconds importing torch for a few seconds of training. Here each
worker process imports torch once and trains cell after cell, and the finished cells are
recorded in study/dvc.lock and DVC's run-cache, as `dvc commit` would record them:

1. the tuning cells that `dvc status` reports stale: restored from DVC's run-cache where it has
   them (trained before, or by another machine that shares the cache), trained otherwise;
2. `dvc repro select` in study/, which picks each arm's lr on validation accuracy;
3. the same for the rerun cells that are then stale (an arm whose choice did not change keeps
   its reruns);
4. `dvc repro` in study/: the report.

With `--scheduler` (or Dask's own DASK_SCHEDULER_ADDRESS), the cells train on the workers of
that Dask cluster, each on a machine with a checkout of the same code and data (docs/study.md);
everything else happens here, as without it.

Cells that finished are recorded every few minutes and when the run stops on an error, so
running the command again trains only what is left.
"""

import os

from mnist_pipeline import cli, resources
from mnist_pipeline.errors import UserError
from mnist_pipeline.study import engine


def main(args) -> None:
    if args.scheduler and args.jobs is not None:
        raise UserError(
            "--jobs: the Dask cluster's workers decide how many cells run at once; give --jobs "
            "without --scheduler"
        )
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    jobs = args.jobs if args.jobs is not None else resources.cores()
    engine.run(jobs, args.cells, args.scheduler or None)


if __name__ == "__main__":
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        help="cells trained at once here, one thread each (default: the cores this process may "
        "use)",
    )
    parser.add_argument(
        "--scheduler",
        default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
        metavar="ADDRESS",
        help="train on the workers of the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 "
        "(default: $DASK_SCHEDULER_ADDRESS; unset, this machine's cores)",
    )
    parser.add_argument(
        "--cells",
        default="*",
        metavar="PATTERN",
        help="train only the stale cells whose stage name matches, e.g. 'tune@mnist-adam-*', and "
        "leave the rest to machines that share the DVC cache (docs/study.md)",
    )
    cli.run(main, parser)
