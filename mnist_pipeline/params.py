"""params.yaml, validated before any work: each section becomes a frozen dataclass.

A field's type comes from its annotation and its allowed range from `rule()`. A wrong type, a
value out of range, a missing key or an unknown key (with a close-match suggestion for typos)
ends in one line naming the key and what was expected.
"""

import dataclasses
import difflib
import math
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mnist_pipeline import datasets, resources
from mnist_pipeline.errors import UserError
from mnist_pipeline.runtime import CPU_KERNELS

PARAMS_FILE = "params.yaml"


def rule(expected: str, check: Callable[[Any], bool] = lambda value: True) -> Any:
    """A dataclass field with a check and the words that describe what it accepts."""
    return dataclasses.field(metadata={"expected": expected, "check": check})


def one_of(names) -> str:
    """'a', 'b' or 'c'."""
    quoted = [f"'{name}'" for name in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def are_pins(value: Any) -> bool:
    """Four IDX file names, each with its lowercase sha256 hex digest."""
    return isinstance(value, dict) and len(value) == 4 and all(map(is_sha256, value.values()))


@dataclasses.dataclass(frozen=True)
class Data:
    dataset: str = rule(one_of(datasets.DATASETS), lambda v: v in datasets.DATASETS)
    source: str = rule("'auto' or 'dir:PATH'", lambda v: v == "auto" or re.fullmatch("dir:.+", v))
    val_size: int = rule("a positive integer", lambda v: v >= 1)
    sha256: dict = rule(
        "a mapping of dataset names to their four IDX file names and lowercase sha256 hex digests",
        lambda v: all(name in datasets.DATASETS and are_pins(pins) for name, pins in v.items()),
    )


@dataclasses.dataclass(frozen=True)
class Model:
    hidden: int = rule("an integer >= 1", lambda v: v >= 1)


@dataclasses.dataclass(frozen=True)
class Runtime:
    """What decides the floating-point sums besides the seed (see runtime.py)."""

    device: str = rule("'cpu', 'cuda' or 'auto'", lambda v: v in ("cpu", "cuda", "auto"))
    cpu_kernels: str = rule(one_of(CPU_KERNELS), lambda v: v in CPU_KERNELS)
    threads: int = rule(resources.threads_rule(), lambda v: 1 <= v <= resources.max_threads())


@dataclasses.dataclass(frozen=True)
class Adam:
    lr: float = rule("a number > 0", lambda v: v > 0)
    beta1: float = rule("a number in [0, 1)", lambda v: 0 <= v < 1)
    beta2: float = rule("a number in [0, 1)", lambda v: 0 <= v < 1)
    weight_decay: float = rule("a number >= 0", lambda v: v >= 0)


@dataclasses.dataclass(frozen=True)
class SGD:
    lr: float = rule("a number > 0", lambda v: v > 0)
    momentum: float = rule("a number in [0, 1)", lambda v: 0 <= v < 1)
    nesterov: bool = rule("true or false")
    weight_decay: float = rule("a number >= 0", lambda v: v >= 0)


@dataclasses.dataclass(frozen=True)
class Loop:
    """What the training loop does, whichever optimizer it drives."""

    epochs: int = rule("an integer >= 1", lambda v: v >= 1)
    batch_size: int = rule("an integer >= 1", lambda v: v >= 1)
    schedule: str = rule("'constant' or 'cosine'", lambda v: v in ("constant", "cosine"))


@dataclasses.dataclass(frozen=True)
class Training:
    """One `train_*` section: the optimizer's settings and the loop's, side by side in
    params.yaml so that `dvc exp run -S train_sgd.lr=...` and `-S train_sgd.epochs=...` read
    alike."""

    optimizer: Adam | SGD
    loop: Loop


OPTIMIZERS = {"train_adam": Adam, "train_sgd": SGD}


def load(path: Path | str = PARAMS_FILE) -> dict:
    """All params of a params file. `dvc exp run -S` writes its values into the file before any
    stage runs, so reading the file sees them. Not `dvc.api.params_show()`: it loads every stage
    of the project first, and the study's hundreds make that a second per pipeline stage."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"{path}: cannot read params: {error}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping of settings, got {raw!r}")
    return raw


def parse(cls: type, raw: Any, name: str, file: str = PARAMS_FILE) -> Any:
    """Validate the mapping `raw` (the section `name` of the params file `file`) into a `cls`
    instance."""
    fields = {field.name: field for field in dataclasses.fields(cls)}
    check_keys(raw, list(fields), name, file)
    types = typing.get_type_hints(cls)
    values = {}
    for key, field in fields.items():
        where = f"{file}: {name}.{key}"
        expected = field.metadata["expected"]
        if key not in raw:
            raise UserError(f"{where}: missing, expected {expected}")
        value = coerce(raw[key], types[key])
        if value is None or not field.metadata["check"](value):
            raise UserError(f"{where}: expected {expected}, got {raw[key]!r}")
        values[key] = value
    return cls(**values)


def check_keys(raw: Any, known: list[str], name: str, file: str = PARAMS_FILE) -> None:
    """`raw` is a mapping whose keys are all in `known`; a typo gets a close-match hint."""
    if not isinstance(raw, dict):
        raise UserError(f"{file}: {name}: expected a mapping of settings, got {raw!r}")
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {name}.{close[0]}?" if close else ""
            shown = key if str(key).isprintable() else repr(key)  # the error stays one line
            raise UserError(
                f"{file}: {name}.{shown}: unknown key, expected one of {', '.join(known)}{hint}"
            )


def scalar(raw: Any, key: str, expected: str, check: Callable[[Any], bool], kind: type) -> Any:
    """Validate one top-level scalar such as `seed`."""
    value = coerce(raw.get(key), kind)
    if value is None or not check(value):
        raise UserError(f"{PARAMS_FILE}: {key}: expected {expected}, got {raw.get(key)!r}")
    return value


def coerce(value: Any, kind: type) -> Any:
    """`value` as `kind`, or None when it is not one. YAML reads `1e-3` as a string, and an
    integer is a fine float, but True is not a number and 0.5 is not an integer."""
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return value if isinstance(value, kind) else None


def seed(params: dict) -> int:
    return scalar(params, "seed", "an integer >= 0", lambda v: v >= 0, int)


def data(params: dict) -> Data:
    data = parse(Data, params.get("data"), "data")
    if data.dataset not in data.sha256:
        raise UserError(
            f"{PARAMS_FILE}: data.sha256: no pins for data.dataset {data.dataset!r}, expected "
            f"a key {data.dataset} with its four files' sha256"
        )
    return data


def model(params: dict) -> Model:
    return parse(Model, params.get("model"), "model")


def runtime(params: dict) -> Runtime:
    return parse(Runtime, params.get("runtime"), "runtime")


def training(params: dict, section: str) -> Training:
    """The `train_*` section `section`, split into its optimizer and its loop settings."""
    if section not in OPTIMIZERS:
        raise UserError(f"{PARAMS_FILE}: {section}: expected one of {', '.join(OPTIMIZERS)}")
    raw, parts = params.get(section), (OPTIMIZERS[section], Loop)
    check_keys(raw, [field.name for cls in parts for field in dataclasses.fields(cls)], section)
    optimizer, loop = (
        parse(cls, {f.name: raw[f.name] for f in dataclasses.fields(cls) if f.name in raw}, section)
        for cls in parts
    )
    return Training(optimizer, loop)
