"""How fast is training, and why: our in-memory batches against the classic torchvision path.

Run after `dvc repro preprocess` (it reads data/raw and data/processed):

    python -m benchmarks.loop

Both paths train the same MLP with the same optimizer and batch size, one epoch at a time,
alternating A B A B so that drift in machine speed hits both; medians are reported. The FLOP
floor is the least time an epoch could take: 6 x parameters x samples (forward 2, backward 4
FLOPs per weight per sample) at the matrix-multiply rate of this machine, measured again right
before every timed epoch so that both see the machine in the same state. On a shared machine
that state moves (on the 2-core machine we measure on, the same epoch took 0.41 s and 0.74 s
within minutes, while the floor moved far less), so the table shows the spread with the median.

Everything runs on the CPU kernels of params.yaml (`runtime.cpu_kernels`), pinned before torch
loads as in every stage. The last table is the price of portability: each value of
`runtime.cpu_kernels` (portable, avx2, native) timed against the others per optimizer, batch
size and thread count, in fresh processes, since a pin cannot change once torch has loaded.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_pipeline import params, runtime

if __name__ == "__main__":
    # Time what the pipeline runs: its CPU kernels, pinned before torch loads as in every stage.
    # `pin_cost` starts processes of its own to time each setting.
    runtime.pin_cpu_kernels(params.runtime(params.load()).cpu_kernels)

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from mnist_pipeline import dataset, evaluation, training  # noqa: E402
from mnist_pipeline.model import MLP  # noqa: E402

RAW, PROCESSED = Path("data/raw"), Path("data/processed")


def classic_epoch(batch_size: int) -> float:
    """One epoch the way most tutorials train: per-sample Dataset, ToTensor, DataLoader."""
    with tempfile.TemporaryDirectory() as root:
        # torchvision expects ROOT/MNIST/raw/<the four IDX files>: link ours there.
        (Path(root) / "MNIST" / "raw").mkdir(parents=True)
        for file in RAW.iterdir():
            (Path(root) / "MNIST" / "raw" / file.name).symlink_to(file.resolve())
        normalize = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
        )
        data = datasets.MNIST(root, train=True, transform=normalize)
        loader = DataLoader(data, batch_size=batch_size, shuffle=True)
        model = MLP().layers  # the same layers, without our built-in normalisation
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        started = time.perf_counter()
        for images, labels in loader:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - started


OPTIMIZERS = {
    "adam": params.Adam(lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0),
    "sgd": params.SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0),
}


def train_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels, held in memory as the pipeline's training holds them."""
    return evaluation.to_tensors(dataset.load(PROCESSED, "train"), torch.device("cpu"))


def our_epoch(
    data: tuple[torch.Tensor, torch.Tensor], batch_size: int, optimizer_name: str = "adam"
) -> float:
    """One epoch of `training.train_epoch`, the loop the pipeline runs."""
    images, labels = data
    model = MLP()
    optimizer = training.make_optimizer(model, OPTIMIZERS[optimizer_name])
    schedule = training.make_schedule(optimizer, "constant", steps=1)
    started = time.perf_counter()
    training.train_epoch(model, optimizer, schedule, images, labels, batch_size, torch.Generator())
    return time.perf_counter() - started


def floor_seconds(flops: float, n: int = 512) -> float:
    """How long this machine takes, right now, to do `flops` as plain n x n matrix products: the
    least time an epoch could take if every FLOP ran at matrix-multiply speed. Timed as one run
    as long as an epoch, like the epoch it is compared with: on a shared machine the best of many
    short products catches fast moments that no epoch-long run gets (here the best of fifty
    512 x 512 products reached up to 163 GFLOP/s; whole floor runs, 72-159)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    products = max(1, round(flops / (2 * n**3)))
    started = time.perf_counter()
    for _ in range(products):
        a @ b
    return (time.perf_counter() - started) * flops / (products * 2 * n**3)


def peak_rss_mb(path: str, batch_size: int, threads: int) -> float:
    """Peak memory of a fresh process that trains one epoch along `path` (imports included:
    torch alone is ~800 MB)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.loop",
        "--rss-of",
        path,
        "--batch-size",
        str(batch_size),
        "--threads",
        str(threads),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output)["peak_rss_mb"]


# The price of each CPU kernel set: every optimizer at the batch sizes the pipeline and the study
# train at, with the pipeline's threads and with the study's one thread a run.
PIN_COST_BATCH_SIZES = (64, 128, 256)


def pin_cost_epochs(threads: list[int]) -> None:
    """In a child process of `pin_cost`, pinned before it imported this module: print the seconds
    of one epoch per optimizer, batch size and thread count, each after an untimed one (the
    first epoch of a process pays one-time set-up)."""
    data = train_split()
    seconds = {}
    for count in threads:
        torch.set_num_threads(count)
        for name in OPTIMIZERS:
            for batch_size in PIN_COST_BATCH_SIZES:
                our_epoch(data, batch_size, name)
                seconds[f"{name} {batch_size} {count}"] = our_epoch(data, batch_size, name)
    print(json.dumps(seconds))


# A child of `pin_cost`: it pins as the stages do, then imports this module (not as __main__).
PIN_COST_CHILD = (
    "import sys; from mnist_pipeline import runtime; runtime.pin_cpu_kernels(sys.argv[1]); "
    "from benchmarks import loop; loop.pin_cost_epochs([int(n) for n in sys.argv[2:]])"
)


def pin_cost(rounds: int, threads: int) -> None:
    """Each CPU kernel set of `runtime.cpu_kernels` against the others, timed in fresh processes
    (a pin works only before torch loads), alternating so that drift hits all of them alike.
    The ratios are taken within a round, then the median over rounds."""
    counts = sorted({threads, 1}, reverse=True)
    times = {kernels: [] for kernels in runtime.CPU_KERNELS}
    for _ in range(rounds):
        for kernels in times:
            child = [sys.executable, "-c", PIN_COST_CHILD, kernels, *map(str, counts)]
            output = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            times[kernels].append(json.loads(output))
    print(
        f"price of the CPU kernel sets, one epoch per fresh process, {rounds} rounds alternating:"
    )
    print(
        f"{'optimizer':>9}  {'batch':>5}  {'threads':>7}  {'portable s':>10}  {'avx2 s':>6}  "
        f"{'native s':>8}  {'portable / avx2 (range)':>23}  portable / native (range)"
    )
    for key in times["portable"][0]:
        name, batch_size, count = key.split()
        portable, avx2, native = (
            [run[key] for run in times[k]] for k in ("portable", "avx2", "native")
        )
        cells = []
        for other in (avx2, native):
            ratios = [a / b for a, b in zip(portable, other, strict=True)]
            cells.append(f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
        print(
            f"{name:>9}  {batch_size:>5}  {count:>7}  {statistics.median(portable):>10.3f}  "
            f"{statistics.median(avx2):>6.3f}  {statistics.median(native):>8.3f}  "
            f"{cells[0]:>23}  {cells[1]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="epochs timed per path and batch size"
    )
    parser.add_argument(
        "--pin-cost-only", action="store_true", help="only the price of the CPU kernel sets"
    )
    parser.add_argument("--rss-of", choices=["ours", "classic"], help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=64, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_of:
        torch.set_num_threads(args.threads)
        if args.rss_of == "ours":
            our_epoch(train_split(), args.batch_size)
        else:
            classic_epoch(args.batch_size)
        print(
            json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
        )
        return

    threads = params.runtime(params.load()).threads
    if args.pin_cost_only:
        print(f"machine: {runtime.machine_name()}; torch {torch.__version__}")
        pin_cost(args.rounds, threads)
        return
    torch.set_num_threads(threads)
    data = train_split()  # loaded once: every timed epoch trains on the same tensors
    samples = len(data[1])
    flops = 6 * sum(p.numel() for p in MLP().parameters()) * samples
    print(
        f"machine: {runtime.machine_name()}; torch {torch.__version__} on "
        f"{runtime.describe(torch.device('cpu'))}, {threads} threads; "
        f"one epoch = {samples} samples = {flops / 1e9:.1f} GFLOP"
    )
    print(
        f"{'optimizer':>9}  {'batch':>5}  {'classic s/epoch':>15}  {'ours s/epoch':>12}  "
        f"{'speed-up':>8}  {'floor s':>7}  ours / floor (range)"
    )
    all_floors = []
    for name in OPTIMIZERS:
        for batch_size in (64, 256, 512):
            # The classic path costs ~15 s an epoch, nearly all per-sample Python work that no
            # batch size or optimizer changes: time it once, for Adam at batch 64.
            with_classic = name == "adam" and batch_size == 64
            classic, ours, floors = [], [], []
            for _ in range(args.rounds):
                if with_classic:
                    classic.append(classic_epoch(batch_size))
                floors.append(floor_seconds(flops))
                ours.append(our_epoch(data, batch_size, name))
            all_floors += floors
            ours_s = statistics.median(ours)
            classic_s = statistics.median(classic) if classic else None
            # Each epoch against the floor measured just before it: the median, and the spread.
            to_floor = [epoch / floor for epoch, floor in zip(ours, floors, strict=True)]
            print(
                f"{name:>9}  {batch_size:>5}  {f'{classic_s:.2f}' if classic else '-':>15}  "
                f"{ours_s:>12.3f}  {f'{classic_s / ours_s:.1f}x' if classic else '-':>8}  "
                f"{statistics.median(floors):>7.3f}  {statistics.median(to_floor):>5.2f}x "
                f"({min(to_floor):.2f}-{max(to_floor):.2f})"
            )
    rates = [flops / floor / 1e9 for floor in all_floors]
    print(
        f"sgemm rate of the floor runs: {min(rates):.0f}-{max(rates):.0f} GFLOP/s, "
        f"median {statistics.median(rates):.0f}"
    )
    ours_mb, classic_mb = (peak_rss_mb(path, 64, threads) for path in ("ours", "classic"))
    print(
        f"peak RSS of a process training one epoch at batch 64: ours {ours_mb:.0f} MB, "
        f"classic {classic_mb:.0f} MB"
    )
    pin_cost(args.rounds, threads)


if __name__ == "__main__":
    main()
