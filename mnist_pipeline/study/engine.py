"""The engine behind `python -m mnist_pipeline.study`: DVC says what is stale, workers train it,
and the finished cells are recorded as `dvc commit` records a stage.

The workers are this machine's cores by default (a process each, torch imported once, one cell
after another) or, given the address of a Dask scheduler, that cluster's workers, on any machine
with a checkout of the same code and data (`worker`). Either way the bookkeeping stays here: DVC's
status and run-cache, each cell's file and the lock file are written by this process alone.
"""

import concurrent.futures
import contextlib
import fnmatch
import importlib
import json
import logging
import multiprocessing
import sys
import time
from pathlib import Path

from tqdm import tqdm

from mnist_pipeline import cli, params, resources
from mnist_pipeline.dvc_command import dvc
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import write_json
from mnist_pipeline.study import data, protocol, worker
from mnist_pipeline.study.protocol import Cell, Protocol

# The study is a DVC project of its own, so that the root's `dvc` commands do not load its
# hundreds of stages; its stages run from the repository root, where this command runs.
PROJECT = Path("study")
INPUTS = PROJECT / "inputs"  # a file per problem: what its cells' bytes depend on
RECORD_EVERY_S = 180  # recording a batch costs seconds; losing one to a crash, minutes


def run(jobs: int | None, only: str = "*", scheduler: str | None = None) -> None:
    """Tune, select, rerun, report: each step only what is stale. With `only` (a pattern such
    as 'tune@adam-*'), train just the matching cells and stop when others are left. With
    `scheduler`, the cells train on that Dask cluster's workers instead of `jobs` local ones."""
    plan = protocol.load()
    model, settings = protocol.root_settings()
    if scheduler is None:
        check_machine(plan, model.hidden, jobs)
    # DVC reports each stage it restores or records at INFO: hundreds of lines here. Its logger
    # takes its level as DVC loads, so load it first.
    importlib.import_module("dvc.repo")
    logging.getLogger("dvc").setLevel(logging.WARNING)
    started = time.perf_counter()
    trained = 0
    # Connected before anything is written: an unreachable scheduler leaves the study as it was.
    with workers(jobs, scheduler) as (pool, described):
        # The fingerprint each problem's cells depend on: a change to the data, the code or the
        # settings shows there, and only once it is rewritten does `dvc status` report the cells
        # stale. Then each problem's files, fetched here once.
        dvc("repro", "--quiet", "inputs", cwd=PROJECT)
        fingerprints = {}
        source = params.data(params.load()).source
        for problem in plan.problems:
            inputs = json.loads((INPUTS / f"{problem.name}.json").read_text())
            fingerprints[problem.name] = {"code": inputs["code"], "data": inputs["data"]}
            data.fetch(problem.name, data.pins_of(inputs["data"]), source)

        def task(cell: Cell) -> worker.Task:
            return worker.Task(
                cell,
                lr_of(cell),
                plan,
                model.hidden,
                settings.cpu_kernels,
                settings.device,
                fingerprints[cell.problem],
            )

        for stage, after in (("tune", ["select"]), ("rerun", [])):
            count, left = run_stale(plan, stage, task, pool, described, only)
            trained += count
            if left:
                cli.log(
                    f"study: {left} stale {stage} cells do not match {only!r}: train them on a "
                    "machine that shares this DVC cache, or here without the pattern, then run "
                    "the study again"
                )
                break
            dvc("repro", "--quiet", *after, cwd=PROJECT)
    minutes = (time.perf_counter() - started) / 60
    cli.log(f"study: {trained} cells trained in {minutes:.1f} min")


@contextlib.contextmanager
def workers(jobs: int | None, scheduler: str | None):
    """(an executor, how to say where its cells run): local worker processes, started when the
    first cell is submitted, or a client of the Dask scheduler at `scheduler`."""
    if scheduler is None:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            # A fresh interpreter per worker: the CPU-kernel pin must come before torch loads.
            mp_context=multiprocessing.get_context("spawn"),
        )
        try:
            yield pool, f"{jobs} at a time"
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    client = connect(scheduler)
    try:
        count = len(client.scheduler_info()["workers"])
        if not count:
            cli.log(f"study: the scheduler at {scheduler} has no workers yet; cells wait for one")
        # Not pure: Dask must run every submitted cell, never reuse a result it holds by key.
        yield client.get_executor(pure=False), f"on the Dask workers at {scheduler} ({count} now)"
    finally:
        client.close()


def connect(scheduler: str):
    """A client of the Dask scheduler at `scheduler` (Dask is imported only here). It waits as
    long as Dask's own `distributed.comm.timeouts.connect` says (30 s unless configured, e.g.
    DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s)."""
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"--scheduler {scheduler}: no Dask scheduler answered within {timeout:g} s ({why}); "
            "nothing was run or recorded"
        ) from None


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


def run_stale(plan: Protocol, stage: str, task, pool, described: str, only: str):
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
        f"{len(restored)} restored from DVC's run-cache; training {len(mine)}, {described}"
    )
    if mine:
        train([task(cell) for cell in mine], pool, stage)
    return len(mine), len(todo) - len(mine)


def train(tasks: list[worker.Task], pool: concurrent.futures.Executor, stage: str) -> None:
    """Train `tasks` on `pool`'s workers, writing and recording what finishes as it goes."""
    finished, failures = [], []
    recorded_at = time.perf_counter()
    # Problem by problem and seed by seed, so that a worker's next cell mostly reuses the split
    # it has in memory.
    tasks = sorted(
        tasks,
        key=lambda task: (task.cell.problem, task.cell.seed, task.cell.arm, task.cell.lr or 0),
    )
    futures = {pool.submit(worker.run, task): task.cell for task in tasks}
    try:
        bar = tqdm(
            concurrent.futures.as_completed(futures),
            total=len(futures),
            desc=f"study: {stage}",
            unit="cell",
            file=sys.stderr,
            mininterval=1 if sys.stderr.isatty() else 60,
        )
        for future in bar:
            cell = futures[future]
            try:
                write_json(cell.path, future.result())
            except Exception as error:  # a failed or refused cell: reported below, not recorded
                failures.append((cell, error))
                continue
            finished.append(cell)
            if time.perf_counter() - recorded_at > RECORD_EVERY_S:
                record(finished)
                finished, recorded_at = [], time.perf_counter()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        record(finished)
        raise UserError(
            f"interrupted: the {stage} cells that finished are recorded; run the study again "
            "to train only the rest"
        ) from None
    record(finished)
    if failures:
        cell, error = failures[0]
        others = len(tasks) - len(failures)
        recorded = f"the other {others} are recorded" if others else "nothing was recorded"
        raise UserError(
            f"study: {len(failures)} of {len(tasks)} {stage} cells failed, first {cell.name}: "
            f"{error}; {recorded}, and a rerun of the study trains only what is left"
        )


def lr_of(cell: Cell) -> float:
    if cell.stage == "tune":
        return cell.lr
    return protocol.chosen_lr(protocol.SELECTED / cell.problem / f"{cell.arm}.json")


def stale_stages() -> set[str]:
    """The names of the study's stages that `dvc status` reports changed or new."""
    status = json.loads(dvc("status", "--json", capture=True, cwd=PROJECT))
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
    # From inside the project: DVC resolves the run-cache's stage paths against the current folder.
    with contextlib.chdir(PROJECT), Repo() as repo, lock_repo(repo):
        for stage in repo.index.stages:
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
    # From inside the project: DVC resolves the run-cache's stage paths against the current folder.
    with contextlib.chdir(PROJECT), Repo() as repo, lock_repo(repo):
        stages = [stage for stage in repo.index.stages if stage.name in names]
        for stage in stages:
            stage.save()  # the hashes of its deps, params and outs, and its run-cache entry
            stage.commit()
        stages[0].dvcfile.dump_stages(stages, update_pipeline=False)
