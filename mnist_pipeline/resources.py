"""What this machine can take, checked against the params before any work starts.

A run the machine cannot serve should stop at once, in one line that names the key, what the
run would need and what the machine has: not as the allocator's traceback once the data is
loaded, nor as a run that is many times slower than it should be with nothing saying why.
"""

import os
from pathlib import Path

from mnist_pipeline.errors import UserError

# More threads than cores only slow a step down (on 2 cores, an SGD step at batch 256: 1.0 ms
# with 2 threads, 2.7 ms with 8, 22 ms with 256; docs/errors.md). Refused past 4 a core, not
# past 1, so that the committed `runtime.threads: 2` still reproduces on a one-core machine.
THREADS_PER_CORE = 4
PIXELS, CLASSES = 28 * 28, 10
FLOAT = 4  # bytes: the model and its activations are float32
# Per weight: the weight and its gradient, and the optimizer's state (Adam keeps two averages,
# SGD one momentum buffer; without momentum none, but one is counted so both read alike).
STATES = {"adam": 2, "sgd": 1}
# model.logits measures a split in chunks of this many images (its default batch_size).
MEASURE_CHUNK = 8192
UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than exist)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def max_threads() -> int:
    return THREADS_PER_CORE * cores()


def threads_rule() -> str:
    """What a thread count may be on this machine, in words for an error line."""
    return f"an integer from 1 to {max_threads()} ({why_max_threads()})"


def why_max_threads() -> str:
    count = cores()
    return (
        f"{THREADS_PER_CORE} a core; this machine has {count} core{'s' if count != 1 else ''}, "
        "and more threads only wait for one"
    )


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """The bytes a new process can have now without swapping (Linux's MemAvailable); None where
    the system does not say, and then nothing is refused."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def training_memory(hidden: int, batch_size: int, n_train: int, optimizer: str) -> int:
    """At least the bytes that training an MLP of `hidden` units needs at its peak: the model,
    its gradients and the optimizer's state; one batch forward and back; and one chunk of the
    pass that measures each split after every epoch, with the logits of the whole split."""
    weights = (PIXELS + 1) * hidden + (hidden + 1) * CLASSES
    model = (2 + STATES[optimizer]) * weights
    # A row's activations: its normalised pixels, the hidden layer before and after the ReLU,
    # the logits. A batch is at most the whole set, and backward keeps a second copy.
    row = PIXELS + 2 * hidden + CLASSES
    batch = min(batch_size, n_train)
    measure = min(MEASURE_CHUNK, n_train)
    return FLOAT * (model + row * (2 * batch + measure) + CLASSES * n_train)


def check_training(
    hidden: int,
    batch_size: int,
    n_train: int,
    optimizer: str,
    where: str,
    runs: int = 1,
    available: int | None = None,
) -> None:
    """Refuse `runs` trainings at once that need more memory than the machine has available."""
    available = available_memory() if available is None else available
    needed = runs * training_memory(hidden, batch_size, n_train, optimizer)
    if available is not None and needed > available:
        what = "training" if runs == 1 else f"{runs} trainings at once"
        raise UserError(
            f"{where}: {what} would need at least {size(needed)} of memory (the model, its "
            f"gradients and optimizer state, and the activations of {n_train:,} images); "
            f"this machine has {size(available)} available"
        )


def size(count: int) -> str:
    """Bytes as a person reads them (3.1 GB, 12.7 TB), in integers: a param may be any size."""
    if count >= 1000 ** len(UNITS):
        return f"more than 1,000 {UNITS[-1]}"
    power = (len(str(count)) - 1) // 3
    if power == 0:
        return f"{count} bytes"
    tenths = count * 10 // 1000**power
    return f"{tenths // 10:,}.{tenths % 10} {UNITS[power]}"
