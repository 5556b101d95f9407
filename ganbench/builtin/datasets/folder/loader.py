"""Image folders: ``folder:<path>`` reads ``<path>/train/<class>/*`` and ``<path>/test/<class>/*``.

Files are found by torchvision's folder scanner (``find_classes`` /
``make_dataset``, as ``ImageFolder`` does): a class is a sub-folder, classes
are sorted by name, files are taken in sorted order and must have one of
torchvision's image extensions. Class indices come from ``train/``; ``test/``
may lack a class, but a test class that ``train/`` lacks is an error.
``<path>`` is used as given (relative to the working directory); the data
root plays no part.

Images are decoded with PIL. Channels: when every image is gray (PIL modes
``1``, ``L``, ``LA``) the dataset has one channel; otherwise three, gray
images repeating their channel; alpha is dropped. Size: all images must have
one size, unless ``size=N`` is given, which brings each to N x N by DCGAN's
rule (shorter side scaled to N, centre cropped). Decoded tensors are cached
(see :mod:`ganbench.datasets.cache`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import DataError
from ganbench.datasets.cache import cached
from ganbench.datasets.images import center_crop_resize, channels_of, decode_image, to_chw

LAYOUT = "expected <path>/train/<class>/<image> and <path>/test/<class>/<image>"


def scan_split(folder: Path, class_to_idx: dict[str, int] | None = None) -> tuple[list[tuple[str, int]], list[str]]:
    """``(samples, classes)`` of one split folder; ``class_to_idx`` fixes the classes (the test split)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; {LAYOUT}.")
    try:
        classes, found = find_classes(str(folder))
        if class_to_idx is None:
            class_to_idx = found
        samples = make_dataset(str(folder), class_to_idx, IMG_EXTENSIONS, allow_empty=True)
    except FileNotFoundError as exc:  # torchvision: "Couldn't find any class folder in ..."
        raise DataError(f"{folder}: {exc}; {LAYOUT}.") from None
    empty = sorted(set(classes) & set(class_to_idx) - {Path(p).relative_to(folder).parts[0] for p, _ in samples})
    if empty:
        raise DataError(f"{folder}: no images in class folder(s) {', '.join(empty)} (image extensions: {', '.join(IMG_EXTENSIONS)}).")
    return samples, classes


def scan_folder(base: Path) -> tuple[dict[str, list[tuple[str, int]]], list[str]]:
    """The samples of both splits, labelled by the training split's classes."""
    train, classes = scan_split(base / "train")
    test, test_classes = scan_split(base / "test", {c: i for i, c in enumerate(classes)})
    foreign = sorted(set(test_classes) - set(classes))
    if foreign:
        raise DataError(f"{base / 'test'}: class folder(s) {', '.join(foreign)} not in {base / 'train'}; the test classes must be training classes.")
    return {"train": train, "test": test}, classes


def decode_all(samples: list[tuple[str, int]], size: int) -> list[np.ndarray]:
    """Each image as uint8 ``(C, H, W)`` at its own channel count."""
    from tqdm import tqdm

    arrays = []
    for path, _ in tqdm(samples, desc="decoding images", unit="img", disable=None, leave=False):
        image = decode_image(Path(path), path)
        if size:
            image = center_crop_resize(image, size)
        arrays.append(to_chw(image, channels_of(image)))
    return arrays


def stack_images(arrays: list[np.ndarray], paths: list[str], channels: int) -> torch.Tensor:
    """One uint8 ``(N, channels, H, W)`` tensor; every image must have the first one's size."""
    h, w = arrays[0].shape[1:]
    for array, path in zip(arrays, paths):
        if array.shape[1:] != (h, w):
            raise DataError(f"{path}: {array.shape[2]}x{array.shape[1]} pixels, but {paths[0]} is {w}x{h}; "
                            f"give one size with the dataset option size=N (scale + center crop to NxN).")
    return torch.from_numpy(np.stack([np.repeat(a, channels // a.shape[0], axis=0) for a in arrays]))


def _decode(name: str, base: Path, splits: dict, classes: list[str], size: int) -> Dataset:
    arrays = {s: decode_all(samples, size) for s, samples in splits.items()}
    channels = max(a.shape[0] for s in arrays.values() for a in s)
    paths = [p for s in ("train", "test") for p, _ in splits[s]]
    images = stack_images(arrays["train"] + arrays["test"], paths, channels)
    n_train = len(arrays["train"])
    labels = {s: torch.tensor([label for _, label in splits[s]], dtype=torch.int64) for s in splits}
    return Dataset(name, images[:n_train].clone(), labels["train"], images[n_train:].clone(), labels["test"],
                   classes, source=str(base), notes={"size": size or "as stored"})


def load_folder(root=None, argument=None, size: int = 0) -> Dataset:
    """``folder:<path>``: the image folders under ``argument`` (see the module docstring)."""
    base = Path(argument).expanduser()
    if not base.is_dir():
        raise DataError(f"Dataset 'folder:{argument}' not found: no folder {base.resolve()}; {LAYOUT}.")
    splits, classes = scan_folder(base)
    if not splits["test"]:
        raise DataError(f"{base / 'test'}: no images; {LAYOUT}.")
    sources = [Path(p) for s in splits.values() for p, _ in s]
    name = f"folder:{argument}"
    return cached(name, {"size": size, "classes": classes}, sources, lambda: _decode(name, base, splits, classes, size))


def locate_folder(root=None, argument=None) -> Path | None:
    if not argument:
        return None
    base = Path(argument).expanduser()
    return base if (base / "train").is_dir() else None
