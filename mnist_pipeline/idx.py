"""The IDX file format of MNIST (and Fashion-MNIST, KMNIST, ...), read with full validation.

An IDX file is a big-endian header -- two zero bytes, a type code (0x08 = uint8), the number of
dimensions, then one uint32 per dimension -- followed by the payload. MNIST images are
`2051 = 0x00000803` (uint8, 3 dims: N x 28 x 28), labels `2049 = 0x00000801` (uint8, 1 dim: N).
"""

import math
import struct
from pathlib import Path

import numpy as np

from mnist_pipeline.errors import UserError
from mnist_pipeline.files import write_bytes

UINT8 = 0x08


class IdxError(UserError):
    pass


def header(array: np.ndarray) -> bytes:
    return struct.pack(f">BBBB{array.ndim}I", 0, 0, UINT8, array.ndim, *array.shape)


def write(path: Path | str, array: np.ndarray) -> None:
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer supports uint8 only, got {array.dtype}")
    write_bytes(path, header(array) + np.ascontiguousarray(array).tobytes())


def read(path: Path | str, ndim: int) -> np.ndarray:
    """Read a uint8 IDX file of `ndim` dimensions; any deviation is an IdxError naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise IdxError(f"{path}: cannot read: {error.strerror}") from None
    if len(data) < 4:
        raise IdxError(f"{path}: not an IDX file: only {len(data)} bytes")
    zeros, type_code, file_ndim = struct.unpack(">HBB", data[:4])
    if zeros != 0 or type_code != UINT8 or file_ndim != ndim:
        magic = int.from_bytes(data[:4], "big")
        expected = (UINT8 << 8) | ndim
        raise IdxError(
            f"{path}: wrong magic number {magic} (0x{magic:08x}), expected {expected} "
            f"(0x{expected:08x}: uint8, {ndim} dimension{'s' if ndim > 1 else ''})"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxError(
            f"{path}: truncated header: expected {header_size} bytes, file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    # math.prod, not np.prod: numpy's int64 wraps past 2**63, and a header may state any size.
    expected_size = header_size + math.prod(shape)
    if len(data) != expected_size:
        problem = "truncated" if len(data) < expected_size else "too long"
        raise IdxError(
            f"{path}: {problem}: header says shape {'x'.join(map(str, shape))}, "
            f"expected {expected_size} bytes, file has {len(data)}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_images(path: Path | str) -> np.ndarray:
    images = read(path, ndim=3)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
    return images


def read_labels(path: Path | str, num_classes: int = 10) -> np.ndarray:
    labels = read(path, ndim=1)
    if labels.size and labels.max() >= num_classes:
        raise IdxError(f"{path}: label {labels.max()} out of range, expected 0-{num_classes - 1}")
    return labels
