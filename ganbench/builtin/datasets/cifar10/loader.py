"""CIFAR-10 (Krizhevsky 2009) from the official binary or python batches.

Binary batches (``cifar-10-batches-bin``), read here because torchvision has
no reader for them. Each of ``data_batch_1.bin`` ... ``data_batch_5.bin``
and ``test_batch.bin`` is a run of 3,073-byte records: one label byte (0-9),
then the 32x32 red plane, the green plane and the blue plane, each row-major.
``batches.meta.txt`` lists the class names, one a line. The format needs no
unpickling, so it is preferred when both are present.

Python batches (``cifar-10-batches-py``), read through
``torchvision.datasets.CIFAR10``, which checks every file's md5 against the
official one *before* unpickling it: a pickle can run code, so only the
official files are ever unpickled.

Both give the training images in batch order 1-5 and then the test batch,
so the same data gives the same fingerprint whichever format it came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import DataError
from ganbench.datasets.download import fetch
from ganbench.datasets.roots import candidate_folders, first_match, looked_in, resolve_data_root

BIN_FOLDER = "cifar-10-batches-bin"
PY_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCHES = ["test_batch"]
RECORD = 1 + 3 * 32 * 32
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
HOMEPAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
BINARY_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
BINARY_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # as published on the CIFAR page


def _bin_files() -> list[str]:
    return [name + ".bin" for name in TRAIN_BATCHES + TEST_BATCHES]


def _py_files() -> list[str]:
    return TRAIN_BATCHES + TEST_BATCHES + ["batches.meta"]


def _has_bin(folder: Path) -> bool:
    return (folder / "data_batch_1.bin").is_file()


def _has_py(folder: Path) -> bool:
    return (folder / "data_batch_1").is_file()


def _find(root, fmt: str) -> tuple[Path | None, str]:
    """``(folder, format)`` of the first copy found; ``auto`` prefers the binary batches."""
    formats = ["bin", "py"] if fmt == "auto" else [fmt]
    for f in formats:
        sub, has = (BIN_FOLDER, _has_bin) if f == "bin" else (PY_FOLDER, _has_py)
        folder = first_match(candidate_folders(root, [sub]), has)
        if folder is not None:
            return folder, f
    return None, formats[0]


def _hint(root) -> str:
    return (f"Get them with `ganbench data download cifar10` (saved in {resolve_data_root(root) / BIN_FOLDER}) "
            f"or from {HOMEPAGE} (binary or python version), and pass their folder with --data-root.")


def _not_found(root, fmt: str) -> DataError:
    wanted = {"bin": f"{', '.join(_bin_files())} ({BIN_FOLDER})", "py": f"{', '.join(_py_files())} ({PY_FOLDER})"}
    expected = " or ".join(wanted[f] for f in (["bin", "py"] if fmt == "auto" else [fmt]))
    folders = candidate_folders(root, [s for f, s in (("bin", BIN_FOLDER), ("py", PY_FOLDER)) if fmt in ("auto", f)])
    return DataError(f"Dataset 'cifar10' not found: expected {expected}; looked in {looked_in(folders)}. {_hint(root)}")


def _require(folder: Path, names: list[str], root) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataError(f"Dataset 'cifar10' in {folder} is incomplete: missing {', '.join(missing)}. {_hint(root)}")


def read_binary_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)`` from one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise DataError(f"{path}: wrong length for a CIFAR-10 binary batch: {raw.size} bytes is not a positive "
                        f"multiple of the {RECORD}-byte record (1 label byte + 3x32x32 pixels). The file is truncated or damaged.")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CLASSES):
        bad = int(np.flatnonzero(labels >= len(CLASSES))[0])
        raise DataError(f"{path}: record {bad} has label {labels[bad]}, expected 0-9. Not a CIFAR-10 binary batch (CIFAR-100 uses two label bytes).")
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)


def _binary_class_names(folder: Path) -> list[str]:
    meta = folder / "batches.meta.txt"
    if not meta.is_file():
        return list(CLASSES)  # the official names, in label order
    names = [line.strip() for line in meta.read_text(errors="replace").splitlines() if line.strip()]
    if len(names) != len(CLASSES):
        raise DataError(f"{meta}: lists {len(names)} class names, expected {len(CLASSES)}.")
    return names


def load_binary(folder: Path, root) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    _require(folder, _bin_files(), root)
    parts = {split: [read_binary_batch(folder / (n + ".bin")) for n in names]
             for split, names in (("train", TRAIN_BATCHES), ("test", TEST_BATCHES))}
    tensors = tuple(torch.cat([p[i] for p in parts[split]]) for split in ("train", "test") for i in (0, 1))
    return tensors, _binary_class_names(folder)


def _torchvision_cifar(folder: Path, train: bool):
    """torchvision's CIFAR10 reading the python batches in ``folder`` (whatever the folder is called)."""
    from torchvision.datasets import CIFAR10

    here = type("CIFAR10InFolder", (CIFAR10,), {"base_folder": folder.name})
    return here(root=str(folder.parent), train=train, download=False)


def _first_md5_mismatch(folder: Path) -> str | None:
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    expected = CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
    return next((name for name, md5 in expected if not check_integrity(str(folder / name), md5)), None)


def load_python(folder: Path, root) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    _require(folder, _py_files(), root)
    try:
        splits = [_torchvision_cifar(folder, train) for train in (True, False)]
    except RuntimeError:  # torchvision: "not found or corrupted" -- find out which file
        bad = _first_md5_mismatch(folder)
        raise DataError(f"{folder / (bad or 'batches.meta')}: md5 does not match the official CIFAR-10 python batch, "
                        f"so it is not unpickled. The file is damaged or not the official one; replace it "
                        f"or use the binary batches ({BIN_FOLDER}).") from None
    tensors = []
    for split in splits:
        tensors.append(torch.from_numpy(split.data).permute(0, 3, 1, 2).contiguous())  # HWC -> CHW
        tensors.append(torch.tensor(split.targets, dtype=torch.int64))
    return tuple(tensors), list(splits[0].classes)


def load_cifar10(root=None, argument=None, format: str = "auto") -> Dataset:
    """CIFAR-10 from the first copy found (binary batches preferred, see the module docstring)."""
    folder, fmt = _find(root, format)
    if folder is None:
        raise _not_found(root, format)
    (train_x, train_y, test_x, test_y), classes = (load_binary if fmt == "bin" else load_python)(folder, root)
    return Dataset("cifar10", train_x, train_y, test_x, test_y, classes, source=str(folder), notes={"format": fmt})


def locate_cifar10(root=None, argument=None) -> Path | None:
    return _find(root, "auto")[0]


def download_cifar10(root=None, argument=None) -> Path:
    """The official binary batches, fetched and md5-checked with torchvision's downloader."""
    from torchvision.datasets.utils import download_and_extract_archive

    base = resolve_data_root(root)
    target = base / BIN_FOLDER
    fetch("CIFAR-10", target, lambda: download_and_extract_archive(BINARY_URL, str(base), md5=BINARY_MD5, remove_finished=True),
          f"get {BINARY_URL} from {HOMEPAGE} and unpack it into {base}.")
    return target
