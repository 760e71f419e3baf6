"""Which bits this CPU computes: the pipeline's own arithmetic, a few steps of it, hashed.

    python -m mnist_pipeline.fingerprint                          # this CPU, params.yaml's pin
    python -m mnist_pipeline.fingerprint --cpu native Haswell EPYC-Rome

A full training run takes minutes and, under emulation, far too long; whether two CPUs would
write the same model is decided much earlier: a CPU whose kernels add up in another order
differs from the first matrix product on. So this runs `training.train_epoch` for a few steps of
each optimizer at the batch size params.yaml trains it at, and `evaluate`'s forward pass over the
test images, with the seed, threads and CPU kernels of params.yaml, and prints the md5 of the
weights after every step and of the logits. Equal fingerprints mean the same bits, step by step.

`--cpu` compares this CPU (`native`) with CPU models that `qemu-x86_64` (Debian's `qemu-user`)
emulates, each in its own process, side by side on the cores: it exits 1 when any fingerprint
differs from the first one. QEMU shows each process the model's CPUID, the vendor included,
which is what MKL reads; it emulates AVX2 but not AVX-512 (docs/reproducibility.md).
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mnist_pipeline import cli, dataset, params, runtime
from mnist_pipeline.errors import UserError

QEMU = "qemu-x86_64"
# What qemu prints on stderr for CPUID flags its TCG cannot emulate: not errors.
QEMU_NOISE = "TCG doesn't support requested feature"


def compute(values: dict, raw: Path, kernels: str, threads: int, steps: int) -> dict:
    """In this process, for the params `values`: {'train_adam': [md5 of the weights after step
    1, ...], 'train_sgd': [...], 'forward': md5 of the test logits, 'describe': the kernels torch
    reports}."""
    runtime.pin_cpu_kernels(kernels)
    import torch

    from mnist_pipeline import training
    from mnist_pipeline.evaluation import to_tensors
    from mnist_pipeline.model import MLP, logits

    device = runtime.start(threads, "cpu")
    seed, hidden = params.seed(values), params.model(values).hidden
    train, test = dataset.read_raw(raw)
    sections = {name: params.training(values, name) for name in ("train_adam", "train_sgd")}
    # The schedule spans a whole run on the training split, as in `train`.
    examples = len(train.labels) - params.data(values).val_size
    needed = steps * max(cfg.loop.batch_size for cfg in sections.values())
    # Copies: the raw arrays are read-only views of the files, which torch warns about.
    train = dataset.Split(train.images[:needed].copy(), train.labels[:needed].copy())
    test = dataset.Split(test.images.copy(), test.labels.copy())
    images, labels = to_tensors(train, device)
    result = {"describe": runtime.describe(device)}
    for section, cfg in sections.items():
        batch = cfg.loop.batch_size
        torch.manual_seed(seed)
        model = MLP(hidden)
        optimizer = training.make_optimizer(model, cfg.optimizer)
        total = cfg.loop.epochs * math.ceil(examples / batch)
        schedule = training.make_schedule(optimizer, cfg.loop.schedule, total)
        order = torch.Generator().manual_seed(seed)
        digests = []
        for step in range(steps):
            # One step: `train_epoch` over exactly one batch of the training images.
            rows = slice(step * batch, (step + 1) * batch)
            training.train_epoch(
                model, optimizer, schedule, images[rows], labels[rows], batch, order, progress=False
            )
            digests.append(md5(model.parameters()))
        result[section] = digests
    # The last model (SGD) on every test image, in the batches `evaluate` uses.
    result["forward"] = md5([logits(model, to_tensors(test, device)[0])])
    return result


def md5(tensors) -> str:
    digest = hashlib.md5()
    for tensor in tensors:
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def summary(result: dict) -> str:
    """One short hash of every step and the forward pass, to compare at a glance."""
    parts = [d for section in ("train_adam", "train_sgd") for d in result[section]]
    return hashlib.md5(" ".join([*parts, result["forward"]]).encode()).hexdigest()[:12]


def child_command(cpu: str, args: argparse.Namespace) -> list[str]:
    """This module run for one CPU: natively, or under qemu as the CPU model `cpu`."""
    command = [sys.executable, "-m", "mnist_pipeline.fingerprint", "--json"]
    command += ["--raw", str(args.raw), "--kernels", args.kernels]
    command += ["--threads", str(args.threads), "--steps", str(args.steps)]
    if cpu == "native":
        return command
    if not shutil.which(QEMU):
        raise UserError(
            f"--cpu {cpu}: emulating a CPU needs {QEMU} (Debian: apt-get install qemu-user)"
        )
    return [QEMU, "-cpu", cpu, *command]


def run_child(cpu: str, args: argparse.Namespace) -> dict:
    done = subprocess.run(child_command(cpu, args), capture_output=True, text=True)
    if done.returncode != 0:
        noise = [line for line in done.stderr.splitlines() if QEMU_NOISE not in line]
        raise UserError(f"--cpu {cpu}: {(noise or ['exited ' + str(done.returncode)])[-1]}")
    return json.loads(done.stdout)


def compare(args: argparse.Namespace) -> bool:
    """Run every CPU of --cpu side by side, print a table, and say whether they all agree."""
    width = max(len(cpu) for cpu in args.cpu)
    cli.log(
        f"fingerprint: {args.steps} steps of each optimizer and the test-set forward pass, "
        f"cpu_kernels {args.kernels}, {args.threads} threads, on {', '.join(args.cpu)}"
    )
    # Threads, not processes, wait on the children: each child is a process of its own.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(
            zip(args.cpu, pool.map(lambda cpu: run_child(cpu, args), args.cpu), strict=True)
        )
    first = summary(results[args.cpu[0]])
    for cpu, result in results.items():
        same = "same" if summary(result) == first else f"DIFFERS from {args.cpu[0]}"
        print(f"{cpu:<{width}}  {summary(result)}  {result['describe']:<28}  {same}")
    return len({summary(result) for result in results.values()}) == 1


def main(args: argparse.Namespace) -> None:
    values = params.load()
    settings = params.runtime(values)
    args.kernels = args.kernels or settings.cpu_kernels
    args.threads = args.threads or settings.threads
    if not (args.raw / "train-images-idx3-ubyte").exists():
        raise UserError(f"{args.raw}: no MNIST files here; run `dvc repro download` first")
    if args.cpu:
        if not compare(args):
            raise UserError("the CPUs above compute other bits with these kernels")
        return
    result = compute(values, args.raw, args.kernels, args.threads, args.steps)
    if args.json:
        print(json.dumps(result))
        return
    for section in ("train_adam", "train_sgd"):
        print(f"{section:<10}  " + "  ".join(digest[:8] for digest in result[section]))
    print(f"{'forward':<10}  {result['forward'][:8]}")
    print(f"fingerprint {summary(result)}  ({result['describe']}, {args.threads} threads)")


def at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1, or argparse's one-line usage error."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


if __name__ == "__main__":
    parser = cli.parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu",
        nargs="+",
        metavar="MODEL",
        help="compare these CPUs: 'native' (this one) or qemu-x86_64 -cpu models",
    )
    parser.add_argument(
        "--kernels", choices=sorted(runtime.CPU_KERNELS), help="default: runtime.cpu_kernels"
    )
    parser.add_argument("--threads", type=at_least_one, help="default: runtime.threads")
    parser.add_argument("--steps", type=at_least_one, default=3, help="steps per optimizer")
    parser.add_argument("--raw", type=Path, default=Path("data/raw"), help="the MNIST IDX files")
    parser.add_argument(
        "--jobs", type=at_least_one, default=os.cpu_count(), help="CPUs run at once"
    )
    parser.add_argument("--json", action="store_true", help="print the digests as JSON")
    cli.run(main, parser)
