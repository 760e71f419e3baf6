"""Each problem's four raw IDX files, in study/data/PROBLEM: a verified local copy, fetched once.

A cell's bytes depend on the files' sha256, and those are the pins in params.yaml
(`data.sha256.PROBLEM`): the study's fingerprint of a problem (stage `inputs@PROBLEM`) records
the pins, so DVC tells what is stale without the files, and a fresh clone's `dvc status` in
study/ is clean before anything is fetched. The engine fetches the files before it trains, and a
Dask worker whose checkout lacks them fetches them too; `dvc repro` in study/ expects them there.
"""

import itertools
import logging
from pathlib import Path

from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.download import download, fetch_dir, resolve
from mnist_pipeline.files import sha256
from mnist_pipeline.study.protocol import DATA

RAW = Path("data/raw")  # the pipeline's: holds the dataset `data.dataset` names
log = logging.getLogger(__name__)


def files(problem: str, pins: dict) -> dict[str, str]:
    """The problem's files, as paths from the repository root, and the sha256 each must have."""
    return {(DATA / problem / name).as_posix(): pins[name] for name in sorted(pins)}


def pins_of(paths: dict[str, str]) -> dict[str, str]:
    """The pins by file name, from the paths `files` gives them."""
    return {Path(path).name: digest for path, digest in paths.items()}


def fetch(problem: str, pins: dict, source: str = "auto", root: Path = Path(".")) -> None:
    """Put the files pinned by `pins` in study/data/`problem` under `root`, unless they are
    there: copied from the pipeline's data/raw when it holds them, else from `source` (the
    root's `data.source`) and then `auto`'s sources."""
    folder = root / DATA / problem
    if holds(folder, pins):
        return
    log.info(f"study: fetching {problem}'s files into {folder}, once")
    raw = root / RAW
    if holds(raw, pins):
        sources = [(f"the pipeline's {RAW}", lambda scratch: fetch_dir(raw, scratch))]
    else:
        fallback = resolve("auto", DATASETS[problem]) if source != "auto" else []
        sources = itertools.chain(resolve(source, DATASETS[problem]), fallback)
    download(sources, {problem: pins}, folder, problem)


def holds(folder: Path, pins: dict) -> bool:
    """Whether `folder` has every pinned file, with its pinned sha256."""
    return all(
        (folder / name).is_file() and sha256(folder / name) == pin for name, pin in pins.items()
    )
