"""Fashion-MNIST (Xiao et al. 2017) from its IDX files, gzipped or not.

Looked for under the data root (``<root>/fashion-mnist``,
``<root>/FashionMNIST/raw``, the root itself), then where Debian's
``dataset-fashion-mnist`` package installs it.
"""

from __future__ import annotations

from pathlib import Path

from ganbench.builtin.datasets.fashion_mnist import DEBIAN_FOLDER
from ganbench.api.data import Dataset
from ganbench.builtin.datasets.idx_datasets import IdxDatasetInfo, download_idx_dataset, load_idx_dataset, locate_idx_dataset

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

FASHION_MNIST = IdxDatasetInfo(
    name="fashion-mnist",
    title="Fashion-MNIST",
    classes=CLASSES,
    subfolders=("fashion-mnist", "FashionMNIST/raw"),
    system_folders=(DEBIAN_FOLDER,),
    torchvision_class="FashionMNIST",
    homepage="https://github.com/zalandoresearch/fashion-mnist (or `apt install dataset-fashion-mnist` on Debian)",
)


def locate_fashion_mnist(root=None, argument=None) -> Path | None:
    return locate_idx_dataset(FASHION_MNIST, root)


def load_fashion_mnist(root=None, argument=None, test: str = "official", heldout: int = 10_000) -> Dataset:
    return load_idx_dataset(FASHION_MNIST, root, test, heldout)


def download_fashion_mnist(root=None, argument=None) -> Path:
    return download_idx_dataset(FASHION_MNIST, root)
