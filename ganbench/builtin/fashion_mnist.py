"""Registration of ``fashion-mnist`` (implementation: :mod:`ganbench.datasets.fashion_mnist`)."""

from __future__ import annotations

from .. import hookimpl
from ..registry import DatasetSpec
from .mnist import IDX_SPLIT_OPTIONS

IMPLEMENTATION = "ganbench.datasets.fashion_mnist"
DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist"  # where Debian's dataset-fashion-mnist installs it


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "fashion-mnist", f"{IMPLEMENTATION}:load_fashion_mnist",
        f"Fashion-MNIST, 60,000 + 10,000 clothing images, IDX files under --data-root or {DEBIAN_FOLDER}",
        options=IDX_SPLIT_OPTIONS,
        locate=f"{IMPLEMENTATION}:locate_fashion_mnist", download=f"{IMPLEMENTATION}:download_fashion_mnist",
    ))
