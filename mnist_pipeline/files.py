"""Atomic, byte-deterministic file writing and hashing.

DVC records a hash of every output; an output that is half-written, or that differs run to run
only by a timestamp, makes DVC record garbage or redo work downstream. So every output is written
to a temporary file beside its destination and renamed over it only when complete.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Every output rounds its floats here, as it is written: six decimals keep what a curve or a
# pixel statistic needs and keep float noise (0.02679999999999999) out of `dvc metrics diff`.
DECIMALS = 6

UMASK = os.umask(0)
os.umask(UMASK)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path | str, obj: Any, decimals: int = DECIMALS) -> None:
    """Floats rounded, keys sorted, a trailing newline: the same object always gives the same
    bytes."""
    text = json.dumps(rounded(obj, decimals), indent=2, sort_keys=True)
    write_bytes(path, (text + "\n").encode())


def rounded(obj: Any, decimals: int) -> Any:
    """`obj` with every float in it, however deep, rounded to `decimals`."""
    if isinstance(obj, float):
        return round(obj, decimals)
    if isinstance(obj, dict):
        return {key: rounded(value, decimals) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(value, decimals) for value in obj]
    return obj


def write_csv(path: Path | str, frame, decimals: int = DECIMALS) -> None:
    """A pandas DataFrame with its floats rounded, without its index and with "\n" line ends on
    every platform."""
    with atomic_path(path) as tmp:
        frame.round(decimals).to_csv(tmp, index=False, lineterminator="\n")


def sha256(path: Path | str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
