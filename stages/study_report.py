"""Stage `report` of study/dvc.yaml: the study's table, verdicts, figures and plot data."""

from pathlib import Path

from mnist_pipeline import cli
from mnist_pipeline.figures import save
from mnist_pipeline.files import write_bytes, write_csv, write_json
from mnist_pipeline.study import analysis, figures, protocol


def main(args) -> None:
    plan = protocol.load()
    chosen = {arm.name: protocol.chosen_lr(args.selected / f"{arm.name}.json") for arm in plan.arms}
    found = analysis.report(plan, args.cells, chosen)
    arms = found["arms"]
    sentences = analysis.verdicts(plan, arms)
    write_json(args.results, arms, decimals=6)
    write_json(args.metrics, analysis.headline(arms), decimals=4)
    text = [analysis.table(plan, arms), ""]
    text += [
        f"- **{arm}**, {metric.replace('_', ' ')}: {sentence}"
        for arm, by_metric in sentences.items()
        for metric, sentence in by_metric.items()
    ]
    write_bytes(args.table, ("\n".join(text) + "\n").encode())

    # Wide tables, one column per arm: what `dvc plots show` draws as one line per arm.
    curve = found["sensitivity"]
    write_csv(
        args.plots / "sensitivity.csv",
        curve.pivot(index="lr", columns="arm", values="mean").reset_index()[["lr", *chosen]],
    )
    write_csv(args.plots / "budget.csv", found["budget"])
    runs = found["reruns"]
    write_csv(
        args.plots / "reruns.csv",
        runs.drop(columns="val_acc").rename(columns={t: f"epoch_at_{t:g}" for t in plan.targets}),
    )
    save(figures.sensitivity(plan, curve, chosen), args.figures / "sensitivity.png")
    save(figures.budget(plan, found["budget"]), args.figures / "budget.png")
    save(figures.paired(plan, runs, arms), args.figures / "paired.png")
    save(figures.curves(plan, runs), args.figures / "curves.png")
    for by_metric in sentences.values():
        cli.log(f"report: {by_metric['test_acc']}")


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--cells", type=Path, required=True, help="folder of the cells' results")
    parser.add_argument("--selected", type=Path, required=True, help="the lrs `select` chose")
    parser.add_argument("--results", type=Path, required=True, help="every number (JSON)")
    parser.add_argument("--metrics", type=Path, required=True, help="the headline numbers (JSON)")
    parser.add_argument("--table", type=Path, required=True, help="the table and verdicts (md)")
    parser.add_argument("--plots", type=Path, required=True, help="folder for the plot CSVs")
    parser.add_argument("--figures", type=Path, required=True, help="folder for the PNGs")
    cli.run(main, parser)
