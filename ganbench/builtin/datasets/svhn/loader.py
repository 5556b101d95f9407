"""SVHN cropped digits (Netzer et al. 2011) from the official ``.mat`` files.

``train_32x32.mat`` / ``test_32x32.mat`` (and, with ``extra=true``,
``extra_32x32.mat`` appended after the training images) hold ``X`` of shape
``(32, 32, 3, N)`` uint8 and ``y`` of shape ``(N, 1)`` with the digit 0
labelled 10. They are read with ``scipy.io.loadmat`` exactly as
torchvision's SVHN class does (same axes, label 10 -> 0), but without its
md5 gate: a ``.mat`` file runs no code when read, every array is checked
here, and the fingerprint records the bytes used, so a re-saved copy is
accepted and told apart. Decoded tensors are cached (see
:mod:`ganbench.datasets.cache`); ``extra`` is 1.3 GB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import DataError
from ganbench.datasets.cache import cached
from ganbench.datasets.download import fetch
from ganbench.datasets.roots import candidate_folders, first_match, looked_in, resolve_data_root

SUBFOLDERS = ("svhn", "SVHN")
FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
BASE_URL = "http://ufldl.stanford.edu/housenumbers/"
HOMEPAGE = "http://ufldl.stanford.edu/housenumbers/"
DIGITS = [str(d) for d in range(10)]


def _hint(root) -> str:
    return (f"Get train_32x32.mat and test_32x32.mat with `ganbench data download svhn` (saved in "
            f"{resolve_data_root(root) / 'svhn'}) or from {HOMEPAGE} (format 2, cropped digits), and pass "
            f"their folder with --data-root.")


def locate_svhn(root=None, argument=None) -> Path | None:
    return first_match(candidate_folders(root, SUBFOLDERS), lambda f: (f / FILES["train"]).is_file())


def _loadmat(path: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path), variable_names=("X", "y"))
    except NotImplementedError:  # scipy's message for MATLAB v7.3 (HDF5) files
        raise DataError(f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; use the official SVHN file (MATLAB v5).") from None
    except Exception as exc:  # loadmat parses untrusted bytes and fails in many ways; all mean "not readable"
        raise DataError(f"{path}: not a readable .mat file ({type(exc).__name__}: {' '.join(str(exc).split())}). "
                        f"The file is truncated or damaged; download it again.") from None


def read_svhn_mat(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)`` (0-9) from one SVHN ``.mat`` file."""
    mat = _loadmat(path)
    if "X" not in mat or "y" not in mat:
        import scipy.io

        found = sorted(name for name, _, _ in scipy.io.whosmat(str(path)))
        raise DataError(f"{path}: no 'X' and 'y' arrays (found {found}); not an SVHN cropped-digits file.")
    x, y = mat["X"], mat["y"]
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.dtype != np.uint8:
        raise DataError(f"{path}: 'X' is {x.dtype} {x.shape}, expected uint8 (32, 32, 3, N).")
    labels = np.asarray(y).reshape(-1).astype(np.int64)
    if len(labels) != x.shape[3]:
        raise DataError(f"{path}: {x.shape[3]} images but {len(labels)} labels.")
    if len(labels) and (labels.min() < 1 or labels.max() > 10):
        raise DataError(f"{path}: labels range {labels.min()}-{labels.max()}, expected 1-10 (10 is the digit 0).")
    labels[labels == 10] = 0
    images = np.ascontiguousarray(np.transpose(x, (3, 2, 0, 1)))  # (H, W, C, N) -> (N, C, H, W)
    return torch.from_numpy(images), torch.from_numpy(labels)


def _decode(folder: Path, extra: bool) -> Dataset:
    train = [read_svhn_mat(folder / FILES["train"])] + ([read_svhn_mat(folder / FILES["extra"])] if extra else [])
    test_x, test_y = read_svhn_mat(folder / FILES["test"])
    train_x = torch.cat([x for x, _ in train])
    train_y = torch.cat([y for _, y in train])
    return Dataset("svhn", train_x, train_y, test_x, test_y, DIGITS, source=str(folder), notes={"extra": extra})


def load_svhn(root=None, argument=None, extra: bool = False) -> Dataset:
    """SVHN from the first folder holding ``train_32x32.mat`` (see :mod:`ganbench.datasets.roots`)."""
    folder = locate_svhn(root)
    if folder is None:
        folders = candidate_folders(root, SUBFOLDERS)
        raise DataError(f"Dataset 'svhn' not found: no {FILES['train']} in {looked_in(folders)}. {_hint(root)}")
    needed = ["train", "test"] + (["extra"] if extra else [])
    missing = [FILES[s] for s in needed if not (folder / FILES[s]).is_file()]
    if missing:
        how = f" Get extra_32x32.mat from {BASE_URL}extra_32x32.mat." if FILES["extra"] in missing else ""
        raise DataError(f"Dataset 'svhn' in {folder} is incomplete: missing {', '.join(missing)}.{how} {_hint(root)}")
    sources = [folder / FILES[s] for s in needed]
    return cached("svhn", {"extra": extra}, sources, lambda: _decode(folder, extra))


def download_svhn(root=None, argument=None) -> Path:
    """train_32x32.mat and test_32x32.mat, md5-checked by torchvision's downloader (not the 1.3 GB extra)."""
    from torchvision.datasets import SVHN
    from torchvision.datasets.utils import download_url

    target = resolve_data_root(root) / "svhn"
    for split in ("train", "test"):
        url, filename, md5 = SVHN.split_list[split]
        fetch(f"SVHN {filename}", target, lambda u=url, f=filename, m=md5: download_url(u, str(target), f, m),
              f"get {url} by hand into {target}.")
    return target
