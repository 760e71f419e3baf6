"""Stages `inputs@PROBLEM` of study/dvc.yaml: what the bytes of every cell of a problem depend on
beyond its arm, lr and seed, in one file that each of them depends on.

That is the data and the code a cell reads (the problem's files by the sha256 that params.yaml
pins for them, the files given with --code by theirs) and its settings from params.yaml and
study/params.yaml. The file changes when any
of them changes, so DVC then reports every cell stale, as if each listed them all. Each cell
checking one file instead of a folder, 14 files and two parsed params files is what keeps
`dvc status` quick with 1,162 cells (docs/study.md).
"""

from pathlib import Path

from mnist_pipeline import cli, params
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import sha256, write_json
from mnist_pipeline.study import data, protocol

# The keys a cell's run reads, as this stage's `params:` in study/dvc.yaml lists them.
ROOT_KEYS = ["model.hidden", "runtime.device", "runtime.cpu_kernels"]
PROTOCOL_KEYS = ["optimizers", "epochs", "schedule", "val_size", "threads"]


def main(args) -> None:
    root, study = params.load(), params.load(protocol.PROTOCOL_FILE)
    # Bad settings stop here, in one line, before any cell would run.
    protocol.parse(study)
    params.model(root)
    params.runtime(root)
    pins = params.data(root).sha256
    if args.problem not in pins:
        raise UserError(f"{params.PARAMS_FILE}: data.sha256: no pins for {args.problem}")
    inputs = {
        "data": data.files(args.problem, pins[args.problem]),
        "code": {path.as_posix(): sha256(path) for path in sorted(args.code)},
        params.PARAMS_FILE: {key: protocol.raw_value(root, key) for key in ROOT_KEYS},
        protocol.PROTOCOL_FILE: {key: study[key] for key in PROTOCOL_KEYS},
    }
    write_json(args.out, inputs)
    cli.log(f"inputs: the data, {len(inputs['code'])} code files and the settings in {args.out}")


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the file every cell depends on")
    parser.add_argument("--problem", required=True, help="a problem of study/params.yaml")
    parser.add_argument("--code", type=Path, nargs="+", required=True, help="the cells' code")
    cli.run(main, parser)
