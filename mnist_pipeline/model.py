"""The network: 784 -> hidden -> ReLU -> 10, with its input normalisation built in.

Normalising inside the model means a saved model takes raw uint8 pixels (N, 28, 28): whoever
loads it later (`evaluate`, `predict`) needs nothing else from the pipeline.
"""

import io
import math
import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from mnist_pipeline.errors import UserError
from mnist_pipeline.files import write_bytes

FORMAT = "mnist_pipeline.MLP/1"  # written into every model file, checked on load


class MLP(nn.Module):
    def __init__(self, hidden: int = 128, mean: float = 0.1307, std: float = 0.3081):
        super().__init__()
        self.config = {"hidden": hidden, "mean": mean, "std": std}
        self.mean, self.std = mean, std
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of raw pixels, uint8 0-255, shape (N, 28, 28)."""
        # (pixels / 255 - mean) / std, as two in-place passes over one fresh copy instead of
        # three allocating ones: at batch 256 that saves a tenth of a training step.
        x = pixels.to(torch.float32, copy=True)
        return self.layers(x.mul_(1 / (255 * self.std)).sub_(self.mean / self.std))


@torch.no_grad()
def logits(model: nn.Module, images: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """The model's logits for every image, in eval mode, in batches that bound memory."""
    model.eval()
    return torch.cat([model(chunk) for chunk in images.split(batch_size)])


def save(model: MLP, path: Path, training: dict) -> None:
    """The model config and how it was trained beside the state dict: plain tensors, numbers and
    strings only, so the file loads with `torch.load(weights_only=True)` and cannot run code."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    checkpoint = {
        "format": FORMAT,
        "config": model.config,
        "training": training,
        "state_dict": state,
    }
    # Into memory first: torch.save names the archive's folder after the file it writes, and a
    # temporary file's random name would make the bytes differ from run to run.
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_bytes(path, buffer.getvalue())


def load(path: Path | str, device: str | torch.device = "cpu") -> tuple[MLP, dict]:
    """The model, in eval mode, and the record of how it was trained. Only what `save` writes is
    accepted, checked before any of it is built: a file from elsewhere ends in one line."""
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it did not write: noise beside the one line
            # that refuses such a file anyway.
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such model file") from None
    except pickle.UnpicklingError:
        # Not torch's own text: it suggests loading the file with the check turned off.
        raise UserError(
            f"{path}: not a model file of this pipeline: it holds Python objects other than "
            "tensors, numbers and strings, so it was refused without running any of them"
        ) from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the model file: {error.strerror}") from None
    except Exception as error:  # torch raises many kinds here: zip, EOF, storage errors
        raise UserError(
            f"{path}: not a model file of this pipeline: not a whole torch file "
            f"({type(error).__name__})"
        ) from None
    config, state = checked(checkpoint, path)
    model = MLP(**config).to(device)
    model.load_state_dict(state)
    training = checkpoint.get("training")
    return model.eval(), training if isinstance(training, dict) else {}


def checked(checkpoint, path: Path | str) -> tuple[dict, dict]:
    """The config and state dict of a loaded file, once they are known to fit each other: a
    config alone could ask for a network of any size."""
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise UserError(f"{path}: not a model file of this pipeline (expected format {FORMAT})")
    config, state = checkpoint.get("config"), checkpoint.get("state_dict")
    numbers = isinstance(config, dict) and all(
        isinstance(config.get(key), (int, float))
        and not isinstance(config.get(key), bool)
        and math.isfinite(config[key])
        for key in ("mean", "std")
    )
    hidden = config.get("hidden") if isinstance(config, dict) else None
    if not (numbers and set(config) == {"hidden", "mean", "std"} and config["std"] > 0) or not (
        isinstance(hidden, int) and not isinstance(hidden, bool) and hidden >= 1
    ):
        raise UserError(
            f"{path}: config: expected hidden (an integer >= 1), mean and std (numbers, std > 0)"
        )
    shapes = {
        "layers.1.weight": (hidden, 28 * 28),
        "layers.1.bias": (hidden,),
        "layers.3.weight": (10, hidden),
        "layers.3.bias": (10,),
    }
    fits = (
        isinstance(state, dict)
        and set(state) == set(shapes)
        and all(
            isinstance(state[key], torch.Tensor)
            and state[key].dtype == torch.float32
            and tuple(state[key].shape) == shape
            for key, shape in shapes.items()
        )
    )
    if not fits:
        expected = ", ".join(f"{key} {'x'.join(map(str, shape))}" for key, shape in shapes.items())
        raise UserError(f"{path}: weights do not fit the model: expected float32 {expected}")
    return config, state
