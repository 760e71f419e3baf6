"""Stage `select` of study/dvc.yaml: each arm's lr, chosen on validation accuracy alone."""

from pathlib import Path

from mnist_pipeline import cli
from mnist_pipeline.files import write_json
from mnist_pipeline.study import analysis, protocol


def main(args) -> None:
    plan = protocol.load()
    chosen = analysis.choose(plan, analysis.sensitivity(analysis.tuning_scores(plan, args.cells)))
    # One file per arm holding the lr alone: a rerun cell depends on its arm's file, so an arm
    # whose choice did not change keeps its reruns.
    for arm, lr in chosen.items():
        write_json(args.out / f"{arm}.json", {"lr": lr})
    cli.log("select: " + ", ".join(f"{arm} lr {lr:g}" for arm, lr in chosen.items()))


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--cells", type=Path, required=True, help="folder of the cells' results")
    parser.add_argument("--out", type=Path, required=True, help="folder for one file per arm")
    cli.run(main, parser)
