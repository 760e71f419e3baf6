"""Where a cell is trained: one of the engine's local worker processes, or a Dask worker on this
machine or another.

A task carries what the cell's bytes depend on beyond the worker's checkout: the cell, its lr,
the protocol and the settings, and the fingerprint of the code and data the driver holds (the
`code` and `data` of study/inputs/PROBLEM.json for the cell's problem). A worker checks its own
checkout against that fingerprint and refuses, in one line, to train with other code or data.
It returns the result instead of writing it: the driver writes each cell's file and records it
in DVC, so a worker writes nothing a repository tracks (at most it fetches a problem's files into
its git-ignored study/data/, verified against the driver's pins), and nothing a refused or failed
task returns is recorded.
"""

import os
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from mnist_pipeline import runtime
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import sha256
from mnist_pipeline.study import data, protocol
from mnist_pipeline.study.protocol import Cell, Protocol

# The checkout this worker's code comes from: its study data and its code are what it trains with.
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Task:
    cell: Cell
    lr: float
    plan: Protocol
    hidden: int
    cpu_kernels: str
    device: str
    fingerprint: dict  # {"code": {path: sha256}, "data": {path: sha256}}, paths from the root


# A Dask worker may run several tasks at once in its threads; torch's seed, thread count and
# kernel pin are per process, so its cells run one at a time.
_one_at_a_time = threading.Lock()
_started: dict = {}  # (cpu_kernels, threads, device) -> the torch.device, once per process
_checked: set = set()  # the fingerprints this process has found its checkout to match


def run(task: Task) -> dict:
    """Train `task.cell` here and return its result (what study/cells/... holds)."""
    with _one_at_a_time:
        device = start(task.cpu_kernels, task.plan.threads, task.device)
        check(task.fingerprint, task.cell.problem)
        from mnist_pipeline.study import cells

        with tempfile.TemporaryDirectory(prefix="mnist-study-") as scratch:
            out = Path(scratch) / "cell.json"
            return cells.run(
                task.cell,
                task.lr,
                task.plan,
                task.hidden,
                ROOT / protocol.DATA / task.cell.problem,
                device,
                out,
            )


def start(cpu_kernels: str, threads: int, device: str):
    """Pin the CPU kernels and start torch, once per process; a process started with other
    settings cannot change them (torch reads the pin when it loads)."""
    wanted = (cpu_kernels, threads, device)
    if _started and wanted not in _started:
        (before,) = _started
        raise UserError(
            f"{where()}: this process already trains with cpu_kernels, threads and device "
            f"{before}, not {wanted}: start a fresh worker"
        )
    if not _started:
        if "torch" in sys.modules:
            raise UserError(
                f"{where()}: torch was imported in this process before the study could pin its "
                "CPU kernels: start a fresh worker"
            )
        runtime.pin_cpu_kernels(cpu_kernels)
        _started[wanted] = runtime.start(threads, device)
    return _started[wanted]


def check(fingerprint: dict, problem: str | None = None) -> None:
    """Refuse to train unless this checkout's code and data are the driver's, file by file;
    first, given the `problem`, fetch its files if this checkout lacks them (the driver's pins
    decide which)."""
    key = repr(sorted((kind, sorted(files.items())) for kind, files in fingerprint.items()))
    if key in _checked:
        return
    if problem is not None:
        data.fetch(problem, data.pins_of(fingerprint["data"]), root=ROOT)
    for kind in ("code", "data"):
        for name, expected in sorted(fingerprint[kind].items()):
            path = ROOT / name
            if not path.is_file():
                raise UserError(f"{where()}: {name} is missing; the driver has it")
            if (mine := sha256(path)) != expected:
                raise UserError(
                    f"{where()}: {name} differs from the driver's (sha256 {mine[:12]} here, "
                    f"{expected[:12]} on the driver): give this worker the driver's {kind}"
                )
    _checked.add(key)


def where() -> str:
    return f"worker {socket.gethostname()}:{os.getpid()} in {ROOT}"
