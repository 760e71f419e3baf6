"""Run the optimizer study: every stale cell of study/dvc.yaml, as many at once as there are cores.

    python -m mnist_pipeline.study                       # one worker per core
    python -m mnist_pipeline.study --jobs 1
    python -m mnist_pipeline.study --cells 'tune@adam-*' # a share, for one of several machines

DVC decides what is stale and records what ran; this command only runs it faster. Plain
`dvc repro study/dvc.yaml` gives the same bytes, one cell at a time, each in a new process that
spends seconds importing torch for a few seconds of training. Here each worker process imports
torch once and trains cell after cell, and the finished cells are recorded in study/dvc.lock
and DVC's run-cache, as `dvc commit` would record them:

1. the tuning cells that `dvc status` reports stale: restored from DVC's run-cache where it has
   them (trained before, or by another machine that shares the cache), trained otherwise;
2. `dvc repro study/dvc.yaml:select`, which picks each arm's lr on validation accuracy;
3. the same for the rerun cells that are then stale (an arm whose choice did not change keeps
   its reruns);
4. `dvc repro study/dvc.yaml`: the report.

Cells that finished are recorded every few minutes and when the run stops on an error, so
running the command again trains only what is left.
"""

from mnist_pipeline import cli, resources
from mnist_pipeline.errors import UserError
from mnist_pipeline.study import engine


def main(args) -> None:
    if args.jobs < 1:
        raise UserError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    engine.run(args.jobs, args.cells)


if __name__ == "__main__":
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=resources.cores(),
        help="cells trained at once, one thread each (default: the cores this process may use)",
    )
    parser.add_argument(
        "--cells",
        default="*",
        metavar="PATTERN",
        help="train only the stale cells whose stage name matches, e.g. 'tune@adam-*', and "
        "leave the rest to machines that share the DVC cache (docs/study.md)",
    )
    cli.run(main, parser)
