"""Registration of ``fashion-mnist`` (implementation: :mod:`ganbench.builtin.datasets.fashion_mnist.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.registry import DatasetSpec
from ganbench.builtin.datasets.mnist import IDX_SPLIT_OPTIONS

IMPLEMENTATION = "ganbench.builtin.datasets.fashion_mnist.loader"
DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist"  # where Debian's dataset-fashion-mnist installs it


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "fashion-mnist", f"{IMPLEMENTATION}:load_fashion_mnist",
        f"Fashion-MNIST, 60,000 + 10,000 clothing images, IDX files under --data-root or {DEBIAN_FOLDER}",
        options=IDX_SPLIT_OPTIONS,
        locate=f"{IMPLEMENTATION}:locate_fashion_mnist", download=f"{IMPLEMENTATION}:download_fashion_mnist",
    ))
