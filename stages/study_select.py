"""Stage `select` of study/dvc.yaml: each arm's lr on each problem, chosen on validation accuracy
alone."""

from pathlib import Path

from mnist_pipeline import cli
from mnist_pipeline.files import write_json
from mnist_pipeline.study import analysis, protocol


def main(args) -> None:
    plan = protocol.load()
    chosen = {}
    for problem in plan.problems:
        on = plan.on(problem.name)
        scores = analysis.tuning_scores(on, args.cells)
        # All problems are checked before anything is written.
        chosen[problem.name] = analysis.choose(on, analysis.sensitivity(scores))
    # One file per problem and arm holding the lr alone: a rerun cell depends on its arm's
    # file, so an arm whose choice did not change keeps its reruns.
    for problem, lrs in chosen.items():
        for arm, lr in lrs.items():
            write_json(args.out / problem / f"{arm}.json", {"lr": lr})
        cli.log(f"select: {problem}: " + ", ".join(f"{arm} lr {lr:g}" for arm, lr in lrs.items()))


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--cells", type=Path, required=True, help="folder of the cells' results")
    parser.add_argument("--out", type=Path, required=True, help="folder for one file per arm")
    cli.run(main, parser)
