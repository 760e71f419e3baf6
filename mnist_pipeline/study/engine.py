"""The engine behind `python -m mnist_pipeline.study`: DVC says what is stale, worker processes
train it (torch imported once per worker, one cell after another), and the finished cells are
recorded as `dvc commit` records a stage.
"""

import concurrent.futures
import fnmatch
import importlib
import json
import logging
import multiprocessing
import sys
import time
from pathlib import Path

from tqdm import tqdm

from mnist_pipeline import cli, resources, runtime
from mnist_pipeline.dvc_command import dvc
from mnist_pipeline.errors import UserError
from mnist_pipeline.study import protocol
from mnist_pipeline.study.protocol import Cell, Protocol

PIPELINE = "study/dvc.yaml"
RAW = Path("data/raw")
RECORD_EVERY_S = 180  # recording a batch costs seconds; losing one to a crash, minutes
DEVICE = None  # a worker's torch.device, set by start_worker


def run(jobs: int, only: str = "*") -> None:
    """Tune, select, rerun, report: each step only what is stale. With `only` (a pattern such
    as 'tune@adam-*'), train just the matching cells and stop when others are left."""
    plan = protocol.load()
    model, settings = protocol.root_settings()
    check_machine(plan, model.hidden, jobs)
    # DVC reports each stage it restores or records at INFO: hundreds of lines here. Its logger
    # takes its level as DVC loads, so load it first.
    importlib.import_module("dvc.repo")
    logging.getLogger("dvc").setLevel(logging.WARNING)
    started = time.perf_counter()
    # The fingerprint every cell depends on: a change to the data, the code or the settings
    # shows there, and only once it is rewritten does `dvc status` report the cells stale.
    dvc("repro", "--quiet", f"{PIPELINE}:inputs")
    trained = 0
    for stage, after in (("tune", f"{PIPELINE}:select"), ("rerun", PIPELINE)):
        count, left = run_stale(plan, stage, model.hidden, settings, jobs, only)
        trained += count
        if left:
            cli.log(
                f"study: {left} stale {stage} cells do not match {only!r}: train them on a "
                "machine that shares this DVC cache, or here without the pattern, then run the "
                "study again"
            )
            break
        dvc("repro", "--quiet", after)
    minutes = (time.perf_counter() - started) / 60
    cli.log(f"study: {trained} cells trained in {minutes:.1f} min")


def check_machine(plan: Protocol, hidden: int, jobs: int) -> None:
    """Refuse workers that the cores or the memory cannot take, before any of them starts."""
    if jobs * plan.threads > resources.max_threads():
        raise UserError(
            f"--jobs {jobs}: {jobs} workers of {plan.threads} thread(s) each: expected at most "
            f"{resources.max_threads()} threads in all ({resources.why_max_threads()})"
        )
    batch_size = max(arm.batch_size for arm in plan.arms)
    n_train = protocol.TRAINING_IMAGES - plan.val_size
    where = (
        f"params.yaml: model.hidden {hidden}, with {protocol.PROTOCOL_FILE}'s largest batch "
        f"size {batch_size}"
    )
    resources.check_training(hidden, batch_size, n_train, "adam", where, runs=jobs)


def run_stale(
    plan: Protocol, stage: str, hidden: int, settings, jobs: int, only: str
) -> tuple[int, int]:
    """Bring the cells of `stage` that DVC reports stale up to date: from the run-cache where
    it has them, else by training those that match `only`. Returns (trained, left stale)."""
    cells = plan.cells(stage)
    stale = stale_stages()
    todo = [cell for cell in cells if cell.name in stale]
    restored = restore(todo)
    record(restored)
    todo = [cell for cell in todo if cell not in restored]
    mine = [cell for cell in todo if fnmatch.fnmatchcase(cell.name, only)]
    cli.log(
        f"study: {stage}: {len(restored) + len(todo)} of {len(cells)} cells stale, "
        f"{len(restored)} restored from DVC's run-cache; training {len(mine)}, {jobs} at a time"
    )
    if mine:
        train(mine, plan, hidden, settings, jobs, stage)
    return len(mine), len(todo) - len(mine)


def train(todo: list[Cell], plan: Protocol, hidden: int, settings, jobs: int, stage: str) -> None:
    """Train `todo` in `jobs` worker processes, recording what finishes as it goes."""
    finished, failures = [], []
    recorded_at = time.perf_counter()
    # Seed by seed, so that a worker's next cell mostly reuses the split it has in memory.
    todo = sorted(todo, key=lambda cell: (cell.seed, cell.arm, cell.lr or 0))
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs,
        # A fresh interpreter per worker: the CPU-kernel pin must come before torch loads.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(settings.cpu_kernels, plan.threads, settings.device),
    )
    try:
        futures = {pool.submit(run_cell, cell, lr_of(cell), plan, hidden): cell for cell in todo}
        bar = tqdm(
            concurrent.futures.as_completed(futures),
            total=len(futures),
            desc=f"study: {stage}",
            unit="cell",
            file=sys.stderr,
            mininterval=1 if sys.stderr.isatty() else 60,
        )
        for future in bar:
            if error := future.exception():
                failures.append((futures[future], error))
                continue
            finished.append(futures[future])
            if time.perf_counter() - recorded_at > RECORD_EVERY_S:
                record(finished)
                finished, recorded_at = [], time.perf_counter()
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        record(finished)
        raise UserError(
            f"interrupted: the {stage} cells that finished are recorded; run the study again "
            "to train only the rest"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    record(finished)
    if failures:
        cell, error = failures[0]
        raise UserError(
            f"study: {len(failures)} of {len(todo)} {stage} cells failed, first {cell.name}: "
            f"{error}; the others are recorded, and a rerun of the study retries only these"
        )


def lr_of(cell: Cell) -> float:
    if cell.stage == "tune":
        return cell.lr
    return protocol.chosen_lr(protocol.SELECTED / f"{cell.arm}.json")


def start_worker(cpu_kernels: str, threads: int, device: str) -> None:
    global DEVICE
    runtime.pin_cpu_kernels(cpu_kernels)
    DEVICE = runtime.start(threads, device)


def run_cell(cell: Cell, lr: float, plan: Protocol, hidden: int) -> None:
    from mnist_pipeline.study import cells

    cells.run(cell, lr, plan, hidden, RAW, DEVICE, cell.path)


def stale_stages() -> set[str]:
    """The names of the stages of study/dvc.yaml that `dvc status` reports changed or new."""
    status = json.loads(dvc("status", "--json", PIPELINE, capture=True))
    return {address.rpartition(":")[2] for address in status}


def restore(cells: list[Cell]) -> list[Cell]:
    """The `cells` whose results DVC's run-cache holds for exactly their deps and params (run
    here before, or on another machine that shares this cache), checked out as `dvc repro`
    would."""
    if not cells:
        return []
    from dvc.repo import Repo, lock_repo
    from dvc.stage.cache import RunCacheNotFoundError

    by_name = {cell.name: cell for cell in cells}
    restored = []
    with Repo() as repo, lock_repo(repo):
        for stage in repo.stage.collect(PIPELINE):
            if stage.name not in by_name:
                continue
            try:
                repo.stage_cache.restore(stage)
            except RunCacheNotFoundError:
                continue
            restored.append(by_name[stage.name])
    return restored


def record(cells: list[Cell]) -> None:
    """Record the finished `cells` in study/dvc.lock and the run-cache, as `dvc commit` does.

    Through DVC's own Repo, Stage and lock-file calls, in one write of the lock file: the CLI
    rewrites the whole file once for every stage it is given, and with hundreds of cells in it
    that costs more than training them.
    """
    if not cells:
        return
    from dvc.repo import Repo, lock_repo

    names = {cell.name for cell in cells}
    with Repo() as repo, lock_repo(repo):
        stages = [stage for stage in repo.stage.collect(PIPELINE) if stage.name in names]
        for stage in stages:
            stage.save()  # the hashes of its deps, params and outs, and its run-cache entry
            stage.commit()
        stages[0].dvcfile.dump_stages(stages, update_pipeline=False)
