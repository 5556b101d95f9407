"""MNIST-like datasets stored as four IDX files: finding, telling apart, loading, downloading.

MNIST and Fashion-MNIST use the same four file names, so a folder is
recognised by content as well as by name: the sha256 of each dataset's
official training labels (decompressed, so any gzip of them matches) is
known, and a folder whose labels are the *other* dataset's is skipped. A
data root that holds MNIST is therefore never read as Fashion-MNIST, which
would otherwise happen silently under the "root itself holds the files" rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import DataError
from ganbench.datasets.download import fetch
from ganbench.datasets.idx import _read_bytes, find_idx_file, idx_names, load_idx_split
from ganbench.datasets.roots import candidate_folders, looked_in, resolve_data_root

# sha256 of the decompressed official train-labels-idx1-ubyte of each dataset.
KNOWN_TRAIN_LABELS = {
    "mnist": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "fashion-mnist": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
}
ALL_FILES = [name for split in ("train", "test") for kind in ("images", "labels") for name in idx_names(split, kind)[1:]]


@dataclass(frozen=True)
class IdxDatasetInfo:
    """One IDX dataset: its name, classes, where to look and how to get it."""

    name: str
    title: str
    classes: tuple[str, ...]
    subfolders: tuple[str, ...]
    system_folders: tuple[str, ...]
    torchvision_class: str  # the torchvision dataset class that downloads it
    homepage: str

    def folders(self, root) -> list[Path]:
        return candidate_folders(root, self.subfolders, self.system_folders)

    def hint(self, root) -> str:
        target = resolve_data_root(root) / self.torchvision_class / "raw"
        return (f"Get the four files ({', '.join(ALL_FILES)}, gzipped or not) with "
                f"`ganbench data download {self.name}` (saved in {target}) or from {self.homepage}, "
                f"and pass their folder with --data-root.")


def identify(folder: Path) -> str | None:
    """Which known dataset's training labels ``folder`` holds, or ``None`` (unknown or unreadable)."""
    path = find_idx_file(folder, "train", "labels")
    if path is None:
        return None
    try:
        digest = hashlib.sha256(_read_bytes(path)).hexdigest()
    except DataError:
        return None  # the loader reports the damage with the file's name
    return next((name for name, known in KNOWN_TRAIN_LABELS.items() if known == digest), None)


def _holds_other(info: IdxDatasetInfo, folder: Path) -> str | None:
    found = identify(folder)
    return found if found not in (None, info.name) else None


def locate_idx_dataset(info: IdxDatasetInfo, root=None) -> Path | None:
    """The first folder holding this dataset's training images (and not another dataset's labels)."""
    for folder in info.folders(root):
        if find_idx_file(folder, "train", "images") and not _holds_other(info, folder):
            return folder
    return None


def _not_found(info: IdxDatasetInfo, root) -> DataError:
    folders = info.folders(root)
    others = [f"{f} holds {_holds_other(info, f)}" for f in folders if find_idx_file(f, "train", "images") and _holds_other(info, f)]
    wrong = f" ({'; '.join(others)}, not {info.name})" if others else ""
    return DataError(f"Dataset '{info.name}' not found: no {' or '.join(idx_names('train', 'images'))} "
                     f"in {looked_in(folders)}{wrong}. {info.hint(root)}")


def _require_all_files(info: IdxDatasetInfo, folder: Path, root) -> None:
    missing = [" or ".join(idx_names(split, kind)) for split in ("train", "test") for kind in ("images", "labels")
               if find_idx_file(folder, split, kind) is None]
    if missing:
        raise DataError(f"Dataset '{info.name}' in {folder} is incomplete: missing {', '.join(missing)}. {info.hint(root)}")


HELDOUT_SEED = 0  # the held-out test split is the same for every run


def load_idx_dataset(info: IdxDatasetInfo, root=None, test: str = "official", heldout: int = 10_000) -> Dataset:
    """The dataset from the first folder that holds it (see :func:`locate_idx_dataset`).

    ``test="heldout"``: the official test images are not used; ``heldout``
    training images, drawn by a fixed seeded permutation, are the test split
    and the others the training split (in file order), as the BiGAN authors'
    code evaluates on MNIST (``mnist_with_valid_set``: 50,000 / 10,000).
    """
    folder = locate_idx_dataset(info, root)
    if folder is None:
        raise _not_found(info, root)
    _require_all_files(info, folder, root)
    train_x, train_y = load_idx_split(folder, "train", len(info.classes))
    notes = {"official_train_labels": identify(folder) == info.name}
    if test == "heldout":
        if not 0 < heldout < len(train_x):
            raise DataError(f"Dataset '{info.name}': --dataset-opt heldout={heldout} must be below its "
                            f"{len(train_x):,} training images.")
        order = np.random.default_rng(HELDOUT_SEED).permutation(len(train_x))
        held = torch.from_numpy(np.sort(order[:heldout]))
        kept = torch.from_numpy(np.sort(order[heldout:]))
        notes.update(test_split="heldout", heldout=heldout, heldout_seed=HELDOUT_SEED)
        return Dataset(info.name, train_x[kept].contiguous(), train_y[kept], train_x[held].contiguous(), train_y[held],
                       list(info.classes), source=str(folder), notes=notes)
    test_x, test_y = load_idx_split(folder, "test", len(info.classes))
    return Dataset(info.name, train_x, train_y, test_x, test_y, list(info.classes), source=str(folder), notes=notes)


def download_idx_dataset(info: IdxDatasetInfo, root=None) -> Path:
    """Download with torchvision into ``<root>/<TorchvisionClass>/raw``; return that folder."""
    import torchvision.datasets

    base = resolve_data_root(root)
    cls = getattr(torchvision.datasets, info.torchvision_class)
    target = base / info.torchvision_class / "raw"
    fetch(info.title, target, lambda: cls(root=str(base), download=True), f"get them from {info.homepage}.")
    return target
