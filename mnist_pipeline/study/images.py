"""A rerun's per-image test scores, packed into its JSON result and unpacked by the report.

Each test image's loss and whether the model classified it right: what a comparison over new
test images resamples (mnist_pipeline.study.stats.image_seed_bootstrap). Packed as text a JSON
file holds, ~28 KB for 10,000 images: the booleans as bits, the losses as float16 (3
significant digits, ample for a mean over thousands of images; a loss beyond float16's range
keeps the whole set float32), each base64.
"""

import base64

import numpy as np


def pack(losses: np.ndarray, correct: np.ndarray) -> dict:
    dtype = "<f2" if np.all(np.abs(losses) <= np.finfo(np.float16).max) else "<f4"
    return {
        "count": int(len(correct)),
        "correct_bits": base64.b64encode(np.packbits(correct.astype(bool))).decode(),
        "loss_dtype": dtype,
        "loss": base64.b64encode(np.asarray(losses).astype(dtype).tobytes()).decode(),
    }


def unpack(packed: dict) -> tuple[np.ndarray, np.ndarray]:
    """(losses as float64, correct as bool), as `pack` packed them."""
    count = packed["count"]
    bits = np.frombuffer(base64.b64decode(packed["correct_bits"]), dtype=np.uint8)
    correct = np.unpackbits(bits, count=count).astype(bool)
    raw = base64.b64decode(packed["loss"])
    return np.frombuffer(raw, dtype=packed["loss_dtype"]).astype(np.float64), correct
