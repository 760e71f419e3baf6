"""Stages `tune@PROBLEM-ARM-LR-SEED` and `rerun@PROBLEM-ARM-SEED` of study/dvc.yaml: one run of
the study."""

from pathlib import Path

from mnist_pipeline import cli, runtime
from mnist_pipeline.errors import UserError
from mnist_pipeline.study import protocol


def main(args) -> None:
    plan = protocol.load()
    model, settings = protocol.root_settings()
    stage = "tune" if args.lr is not None else "rerun"
    lr = args.lr if args.lr is not None else protocol.chosen_lr(args.lr_from)
    matches = [
        cell
        for cell in plan.cells(stage)
        if (cell.problem, cell.arm, cell.seed) == (args.problem, args.arm, args.seed)
        and (stage == "rerun" or cell.lr == lr)
    ]
    if not matches:
        raise UserError(
            f"{protocol.PROTOCOL_FILE}: no {stage} cell {args.problem} {args.arm}, seed {args.seed}"
        )
    runtime.pin_cpu_kernels(settings.cpu_kernels)  # before torch loads
    from mnist_pipeline.study import cells

    device = runtime.start(plan.threads, settings.device)
    result = cells.run(matches[0], lr, plan, model.hidden, args.raw, device, args.out)
    outcome = "diverged" if result["diverged"] else f"final val acc {result['val_acc'][-1]:.4f}"
    cli.log(f"{matches[0].name}: lr {lr:g}, {outcome}")


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--problem", required=True, help="a dataset from study/params.yaml")
    parser.add_argument("--arm", required=True, help="OPTIMIZER-BATCHSIZE, from study/params.yaml")
    parser.add_argument("--seed", type=int, required=True)
    lr = parser.add_mutually_exclusive_group(required=True)
    lr.add_argument("--lr", type=float, help="a tuning run's lr, from the grid")
    lr.add_argument("--lr-from", type=Path, help="a rerun's lr: the file `select` wrote")
    parser.add_argument("--raw", type=Path, required=True, help="the problem's raw IDX files")
    parser.add_argument("--out", type=Path, required=True, help="the cell's result (JSON)")
    cli.run(main, parser)
