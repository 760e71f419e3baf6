"""study/params.yaml, validated before any run, and the cells it expands into.

A cell is one training run. `tune@PROBLEM-ARM-LR-SEED` trains an arm on a problem (a dataset the
pipeline knows) at one lr of the grid with a tuning seed; `rerun@PROBLEM-ARM-SEED` trains it at
the lr that `select` chose for it on that problem, with a rerun seed. The names are
the stage names that `study/dvc.yaml`'s matrices give, so DVC and the engine speak of the same
runs (tests/test_study_dvc_yaml.py checks both expansions agree).
"""

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_pipeline import params, resources
from mnist_pipeline.datasets import DATASETS
from mnist_pipeline.errors import UserError

PROTOCOL_FILE = "study/params.yaml"
CELLS = Path("study/cells")
SELECTED = Path("study/selected")
DATA = Path("study/data")  # a folder of raw IDX files per problem, the study's `data` stages'

ALGORITHMS = {"sgd": params.SGD, "adam": params.Adam}
# A run whose loss became NaN or infinite scores as a model that knows nothing: chance accuracy
# on ten balanced classes, and the loss of a uniform prediction.
CHANCE = {"acc": 0.1, "loss": math.log(10)}
TRAINING_IMAGES = 60_000  # every problem's, from which each seed draws its validation split


@dataclass(frozen=True)
class Arm:
    name: str  # OPTIMIZER-BATCHSIZE, as in study/params.yaml
    optimizer: str
    batch_size: int


@dataclass(frozen=True)
class Problem:
    """A dataset the arms are compared on, with what its verdict is read against."""

    name: str  # a dataset of mnist_pipeline/datasets.py
    good_range: float  # validation accuracy
    targets: tuple[float, ...]  # validation accuracies, ascending
    margins: dict  # "test_acc" | "test_loss" -> margin > 0


@dataclass(frozen=True)
class Cell:
    stage: str  # "tune" or "rerun"
    problem: str
    arm: str
    seed: int
    lr: float | None = None  # a rerun's lr is the one `select` chose

    @property
    def name(self) -> str:
        """The DVC stage name: matrix values joined by '-', as DVC writes them."""
        values = [self.problem, self.arm]
        values += [self.lr, self.seed] if self.stage == "tune" else [self.seed]
        return f"{self.stage}@{'-'.join(str(value) for value in values)}"

    @property
    def file(self) -> Path:
        """Its result, relative to the cells folder: tune/mnist/adam-128-0.001-1.json."""
        values = [self.arm, self.lr, self.seed] if self.stage == "tune" else [self.arm, self.seed]
        return Path(self.stage) / self.problem / f"{'-'.join(str(value) for value in values)}.json"

    @property
    def path(self) -> Path:
        return CELLS / self.file


@dataclass(frozen=True)
class Protocol:
    arms: tuple[Arm, ...]
    reference: str
    optimizers: dict  # name -> params.Adam | params.SGD, with a placeholder lr
    loop: params.Loop
    val_size: int
    lrs: tuple[float, ...]
    lr_room: float  # decades
    tuning_seeds: tuple[int, ...]
    rerun_seeds: tuple[int, ...]
    problems: tuple[Problem, ...]
    threads: int

    def on(self, problem: str) -> "Protocol":
        """The protocol for `problem` alone: its cells, and the settings its verdict reads."""
        return dataclasses.replace(self, problems=(self.problem_named(problem),))

    def problem_named(self, name: str) -> Problem:
        return next(problem for problem in self.problems if problem.name == name)

    @property
    def problem(self) -> Problem:
        """The one problem of a protocol narrowed by `on`."""
        (problem,) = self.problems
        return problem

    # What the analysis of one problem reads, as before there were several.
    @property
    def good_range(self) -> float:
        return self.problem.good_range

    @property
    def targets(self) -> tuple[float, ...]:
        return self.problem.targets

    @property
    def margins(self) -> dict:
        return self.problem.margins

    def arm(self, name: str) -> Arm:
        return next(arm for arm in self.arms if arm.name == name)

    def training(self, arm: str, lr: float) -> params.Training:
        """The optimizer and loop settings of `arm` at learning rate `lr`."""
        optimizer = dataclasses.replace(self.optimizers[self.arm(arm).optimizer], lr=lr)
        loop = dataclasses.replace(self.loop, batch_size=self.arm(arm).batch_size)
        return params.Training(optimizer, loop)

    def reference_of(self, arm: str) -> str:
        """The reference arm at `arm`'s batch size."""
        return f"{self.reference}-{self.arm(arm).batch_size}"

    def cells(self, stage: str) -> list[Cell]:
        """Every cell of `stage` ("tune" or "rerun"), in the order DVC's matrix expands them."""
        if stage == "tune":
            return [
                Cell("tune", problem.name, arm.name, seed, lr)
                for problem in self.problems
                for arm in self.arms
                for lr in self.lrs
                for seed in self.tuning_seeds
            ]
        return [
            Cell("rerun", problem.name, arm.name, seed)
            for problem in self.problems
            for arm in self.arms
            for seed in self.rerun_seeds
        ]


def load(path: Path | str = PROTOCOL_FILE) -> Protocol:
    return parse(params.load(path), str(path))


def parse(raw: dict, file: str = PROTOCOL_FILE) -> Protocol:
    """Validate the protocol; a bad value ends in one line naming the key and what was
    expected."""
    known = ["problems", "arms", "reference", "optimizers", "epochs", "schedule", "val_size"]
    known += ["lrs", "lr_room", "seeds", "good_range", "targets", "margins", "threads"]
    params.check_keys(raw, known, "protocol", file)

    def fail(key: str, expected: str) -> UserError:
        return UserError(f"{file}: {key}: expected {expected}, got {raw_value(raw, key)!r}")

    optimizers = parse_optimizers(raw.get("optimizers"), file)
    arms = parse_arms(raw.get("arms"), optimizers, fail)
    reference = raw.get("reference")
    if not isinstance(reference, str) or reference not in optimizers:
        raise fail("reference", f"one of the optimizers ({', '.join(optimizers)})")
    for arm in arms:
        if f"{reference}-{arm.batch_size}" not in {a.name for a in arms}:
            raise fail("arms", f"a {reference}-{arm.batch_size} arm to compare {arm.name} with")
    loop = params.parse(
        params.Loop,
        {"epochs": raw.get("epochs"), "schedule": raw.get("schedule"), "batch_size": 1},
        "protocol",
        file,
    )
    lrs = numbers(raw.get("lrs"), lambda v: v > 0)
    if not lrs or len(set(lrs)) != len(lrs):
        raise fail("lrs", "a non-empty list of distinct numbers > 0 (the lr grid)")
    # Numbers as YAML typed them: DVC names a cell by the value's text, so `1` stays 1, not 1.0.
    lrs = [v if isinstance(v, int | float) else n for v, n in zip(raw["lrs"], lrs, strict=True)]
    lr_room = numbers([raw.get("lr_room")], lambda v: v >= 0)
    if not lr_room:
        raise fail("lr_room", "a number of decades >= 0")
    seeds = raw.get("seeds")
    params.check_keys(seeds, ["tuning", "rerun"], "seeds", file)
    tuning, rerun = (integers(seeds.get(key)) for key in ("tuning", "rerun"))
    if not tuning:
        raise fail("seeds.tuning", "a non-empty list of distinct integers >= 0")
    if len(rerun) < 2:
        raise fail("seeds.rerun", "a list of at least two distinct integers >= 0")
    if overlap := sorted(set(tuning) & set(rerun)):
        raise UserError(
            f"{file}: seeds.rerun: {', '.join(map(str, overlap))} also tuning seeds; the reruns "
            "must be fresh seeds, disjoint from seeds.tuning"
        )
    problems = parse_problems(raw, fail, file)
    threads = params.coerce(raw.get("threads"), int)
    if threads is None or not 1 <= threads <= resources.max_threads():
        raise fail("threads", resources.threads_rule())
    val_size = params.coerce(raw.get("val_size"), int)
    if val_size is None or not 0 < val_size < TRAINING_IMAGES:
        raise fail("val_size", f"an integer from 1 to {TRAINING_IMAGES - 1}")
    return Protocol(
        arms=tuple(arms),
        reference=reference,
        optimizers=optimizers,
        loop=loop,
        val_size=val_size,
        lrs=tuple(lrs),
        lr_room=lr_room[0],
        tuning_seeds=tuple(tuning),
        rerun_seeds=tuple(rerun),
        problems=problems,
        threads=threads,
    )


def parse_problems(raw: dict, fail, file: str) -> tuple[Problem, ...]:
    """The problems, each with its good range, targets and margins (mappings by problem)."""
    names = raw.get("problems")
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(name, str) and name in DATASETS for name in names)
        or len(set(names)) != len(names)
    ):
        raise fail("problems", f"a non-empty list of distinct datasets from {', '.join(DATASETS)}")
    for key in ("good_range", "targets", "margins"):
        settings = raw.get(key)
        if not isinstance(settings, dict) or set(settings) != set(names):
            raise fail(key, f"a mapping with one entry for each problem ({', '.join(names)})")
    problems = []
    for name in names:
        margins = raw["margins"][name]
        params.check_keys(margins, ["test_acc", "test_loss"], f"margins.{name}", file)
        for key in ("test_acc", "test_loss"):
            if len(numbers([margins.get(key)], lambda v: v > 0)) != 1:
                raise fail(f"margins.{name}.{key}", "a number > 0 (the equivalence margin)")
        targets = numbers(raw["targets"][name], lambda v: 0 < v < 1)
        if not targets:
            raise fail(
                f"targets.{name}", "a non-empty list of validation accuracies between 0 and 1"
            )
        good_range = numbers([raw["good_range"][name]], lambda v: 0 < v < 1)
        if not good_range:
            raise fail(f"good_range.{name}", "a number between 0 and 1 (validation accuracy)")
        problems.append(
            Problem(
                name=name,
                good_range=good_range[0],
                targets=tuple(sorted(targets)),
                margins={key: float(margins[key]) for key in ("test_acc", "test_loss")},
            )
        )
    return tuple(problems)


def parse_optimizers(raw: Any, file: str) -> dict:
    """name -> params.Adam | params.SGD, each validated as a params.yaml section would be."""
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"{file}: optimizers: expected a mapping of names to settings, got {raw!r}")
    optimizers = {}
    for name, settings in raw.items():
        # A name becomes part of stage names and file names: tune@NAME-128-0.1-1.
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise UserError(
                f"{file}: optimizers: expected names of letters, digits and _, got {name!r}"
            )
        where = f"optimizers.{name}"
        algorithm = settings.get("algorithm") if isinstance(settings, dict) else None
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise UserError(
                f"{file}: {where}.algorithm: expected one of {', '.join(ALGORITHMS)}, "
                f"got {algorithm!r}"
            )
        rest = {key: value for key, value in settings.items() if key != "algorithm"}
        if "lr" in rest:
            raise UserError(f"{file}: {where}.lr: the lr is tuned on the grid `lrs`; remove it")
        optimizers[str(name)] = params.parse(
            ALGORITHMS[algorithm], {**rest, "lr": 1.0}, where, file
        )
    return optimizers


def parse_arms(raw: Any, optimizers: dict, fail) -> list[Arm]:
    expected = (
        f"a non-empty list of distinct OPTIMIZER-BATCHSIZE names, OPTIMIZER one of "
        f"{', '.join(optimizers)} (e.g. {next(iter(optimizers))}-128)"
    )
    if not isinstance(raw, list) or not raw or len(set(map(str, raw))) != len(raw):
        raise fail("arms", expected)
    arms = []
    for name in raw:
        optimizer, _, batch = str(name).rpartition("-")
        # Digits as DVC will print them in the stage name: no sign, no leading zero.
        if optimizer not in optimizers or not batch.isascii() or not batch.isdigit():
            raise fail("arms", expected)
        if batch != str(int(batch)) or int(batch) < 1:
            raise fail("arms", expected)
        arms.append(Arm(str(name), optimizer, int(batch)))
    return arms


def numbers(raw: Any, check) -> list[float]:
    """The finite numbers of the list `raw` that pass `check`; [] if any item is not one."""
    if not isinstance(raw, list):
        return []
    values = [params.coerce(value, float) for value in raw]
    if any(v is None or not math.isfinite(v) or not check(v) for v in values):
        return []
    return values


def integers(raw: Any) -> list[int]:
    """The distinct integers >= 0 of the list `raw`; [] if it is not one."""
    if not isinstance(raw, list):
        return []
    values = [params.coerce(value, int) for value in raw]
    if any(v is None or v < 0 for v in values) or len(set(values)) != len(values):
        return []
    return values


def raw_value(raw: dict, key: str) -> Any:
    for part in key.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def root_settings(path: Path | str = params.PARAMS_FILE) -> tuple[params.Model, params.Runtime]:
    """What the study takes from the pipeline's own params.yaml: the model and where it runs."""
    values = params.load(path)
    return params.model(values), params.runtime(values)


def chosen_lr(selected: Path) -> float:
    """The lr that `select` wrote for an arm."""
    try:
        return float(json.loads(selected.read_text())["lr"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{selected}: cannot read the chosen lr ({error}); run select") from None
