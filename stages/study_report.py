"""Stage `report` of study/dvc.yaml: the study's tables, verdicts, figures and plot data, one
set per problem."""

from pathlib import Path

from mnist_pipeline import cli
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.figures import save
from mnist_pipeline.files import write_bytes, write_csv, write_json
from mnist_pipeline.study import analysis, figures, protocol


def main(args) -> None:
    plan = protocol.load()
    results, headlines, text = {}, {}, []
    for problem in plan.problems:
        on = plan.on(problem.name)
        arms, sentences = report_problem(on, args)
        results[problem.name] = arms
        headlines[problem.name] = analysis.headline(arms)
        text += [f"## {DATASETS[problem.name].title}", "", analysis.table(on, arms)]
        text += [
            f"- **{arm}**, {metric.replace('_', ' ')}: {sentence}"
            for arm, by_metric in sentences.items()
            for metric, sentence in by_metric.items()
        ]
        text.append("")
    write_json(args.results, results, decimals=6)
    write_json(args.metrics, headlines, decimals=4)
    # Both problems side by side first (what the README quotes), then each problem's own table.
    overview = [
        "## Every comparison, on both problems",
        "",
        analysis.across_problems(plan, results),
    ]
    write_bytes(args.table, "\n".join(overview + text).encode())


def report_problem(plan: protocol.Protocol, args) -> tuple[dict, dict]:
    """One problem's numbers, plot data and figures (in its own folders); its arms' numbers
    and verdict sentences for the table."""
    name = plan.problem.name
    chosen = {
        arm.name: protocol.chosen_lr(args.selected / name / f"{arm.name}.json") for arm in plan.arms
    }
    found = analysis.report(plan, args.cells, chosen)
    arms = found["arms"]
    sentences = analysis.verdicts(plan, arms)
    # Wide tables, one column per arm: what `dvc plots show` draws as one line per arm.
    plots, pictures = args.plots / name, args.figures / name
    curve = found["sensitivity"]
    write_csv(
        plots / "sensitivity.csv",
        curve.pivot(index="lr", columns="arm", values="mean").reset_index()[["lr", *chosen]],
    )
    write_csv(plots / "budget.csv", found["budget"])
    runs = found["reruns"]
    write_csv(
        plots / "reruns.csv",
        runs.drop(columns="val_acc").rename(columns={t: f"epoch_at_{t:g}" for t in plan.targets}),
    )
    save(figures.sensitivity(plan, curve, chosen), pictures / "sensitivity.png")
    save(figures.budget(plan, found["budget"]), pictures / "budget.png")
    save(figures.paired(plan, runs, arms), pictures / "paired.png")
    save(figures.curves(plan, runs), pictures / "curves.png")
    for by_metric in sentences.values():
        cli.log(f"report: {name}: {by_metric['test_acc']}")
    return arms, sentences


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--cells", type=Path, required=True, help="folder of the cells' results")
    parser.add_argument("--selected", type=Path, required=True, help="the lrs `select` chose")
    parser.add_argument("--results", type=Path, required=True, help="every number (JSON)")
    parser.add_argument("--metrics", type=Path, required=True, help="the headline numbers (JSON)")
    parser.add_argument("--table", type=Path, required=True, help="the table and verdicts (md)")
    parser.add_argument(
        "--plots", type=Path, required=True, help="folder for the plot CSVs, per problem"
    )
    parser.add_argument(
        "--figures", type=Path, required=True, help="folder for the PNGs, per problem"
    )
    cli.run(main, parser)
