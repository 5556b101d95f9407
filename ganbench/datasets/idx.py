"""IDX files (MNIST, Fashion-MNIST), gzipped or not, read with torchvision's reader.

torchvision's ``read_image_file`` / ``read_label_file`` read the format but
neither a gzipped file nor a damaged one gracefully, so this module checks
the header and length first (one clear line naming the file and what is
wrong) and gunzips into a temporary file before handing it over.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path

import torch

from ganbench.system.errors import DataError

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
SPLIT_FILES = {"train": "train", "test": "t10k"}


def idx_names(split: str, kind: str) -> tuple[str, str]:
    """The plain and gzipped file names of one split's images or labels."""
    plain = f"{SPLIT_FILES[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    return plain, plain + ".gz"


def find_idx_file(folder: Path, split: str, kind: str) -> Path | None:
    for name in idx_names(split, kind):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as {'gzip' if path.suffix == '.gz' else 'IDX'}: {exc}. Replace the file with an intact copy.") from None


def _check(data: bytes, path: Path, magic: int) -> tuple[int, ...]:
    kind = "images" if magic == IMAGE_MAGIC else "labels"
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX {kind} file ({len(data)} bytes, the header alone is {header}).")
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:
        raise DataError(f"{path}: not an IDX {kind} file (magic number {found}, expected {magic}).")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if 0 in dims:
        raise DataError(f"{path}: IDX {kind} file of shape {dims} holds no {kind}, expected at least one. "
                        f"Replace the file with an intact copy.")
    expected = header + math.prod(dims)  # Python integers: a damaged header cannot overflow
    if len(data) != expected:
        raise DataError(f"{path}: wrong length for IDX {kind} of shape {dims}: {len(data)} bytes, expected {expected}. "
                        f"The file is truncated or damaged; replace it with an intact copy.")
    return dims


def read_idx(path: Path, kind: str) -> torch.Tensor:
    """uint8 images ``(N, H, W)`` or int64 labels ``(N,)`` from one IDX file."""
    data = _read_bytes(path)
    _check(data, path, IMAGE_MAGIC if kind == "images" else LABEL_MAGIC)
    # Imported here: torchvision costs seconds to import and the CLI loads every plugin.
    from torchvision.datasets.mnist import read_image_file, read_label_file

    reader = read_image_file if kind == "images" else read_label_file
    if path.suffix != ".gz":
        return reader(str(path))
    fd, tmp = tempfile.mkstemp(suffix="-idx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return reader(tmp).clone()
    finally:
        os.unlink(tmp)


def load_idx_split(folder: Path, split: str, num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(uint8 (N, 1, H, W), int64 (N,))`` of one split from ``folder``; labels checked to lie in
    ``[0, num_classes)`` when ``num_classes`` is given."""
    paths = {}
    for kind in ("images", "labels"):
        path = find_idx_file(folder, split, kind)
        if path is None:
            raise DataError(f"{folder}: no {' or '.join(idx_names(split, kind))}.")
        paths[kind] = path
    images = read_idx(paths["images"], "images")
    labels = read_idx(paths["labels"], "labels")
    if len(images) != len(labels):
        raise DataError(f"{folder}: {paths['images'].name} has {len(images)} images but {paths['labels'].name} has "
                        f"{len(labels)} labels, expected one label per image. Replace both files with one intact copy.")
    labels = labels.long()
    if num_classes is not None:
        check_labels(labels, num_classes, paths["labels"])
    return images.unsqueeze(1).contiguous(), labels


def check_labels(labels: torch.Tensor, num_classes: int, path: Path) -> None:
    """DataError naming ``path`` unless every label is a class index in ``[0, num_classes)``."""
    bad = torch.nonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        first = int(bad[0, 0])
        raise DataError(f"{path}: label {int(labels[first])} at position {first} is out of range, expected 0 to "
                        f"{num_classes - 1} ({num_classes} classes). The file is damaged or of another dataset; "
                        f"replace it with an intact copy.")
