"""The in-memory dataset every plugin sees, and the image conversions.

A dataset is loaded once into uint8 tensors ``(N, C, H, W)`` with int64
labels and kept in memory; images are converted to floats on the fly, on the
device, batch by batch (:func:`to_model_input`).

The 28 -> 32 rule: a model built for 32x32 inputs receives 28x28 images
zero-padded by 2 pixels on every side (the digit is not resampled, so its
strokes keep their exact pixel values). Any other size mismatch is resized
bilinearly (antialiased) to the model's size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Dataset:
    """A dataset with a train and a test split, images as uint8 ``(N, C, H, W)``."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    source: str = ""
    fingerprint: str = ""
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = self.split(split)
            for what, value in (("images", x), ("labels", y)):
                if not isinstance(value, torch.Tensor):  # a numpy array's uint8 would read "uint8 != uint8" below
                    raise ValueError(f"{self.name} {split}: {what} must be a torch tensor (torch.from_numpy(array)), "
                                     f"got {type(value).__module__}.{type(value).__name__}")
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name} {split}: images must be uint8 (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
            if y.dtype != torch.int64 or y.shape != (x.shape[0],):
                raise ValueError(f"{self.name} {split}: labels must be int64 (N,), got {y.dtype} {tuple(y.shape)}")
        if not self.fingerprint:
            self.fingerprint = fingerprint_tensors(self.train_x, self.train_y, self.test_x, self.test_y)

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if name == "train":
            return self.train_x, self.train_y
        if name == "test":
            return self.test_x, self.test_y
        raise ValueError(f"unknown split {name!r}: expected 'train' or 'test'")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def info(self) -> "DataInfo":
        c, h, w = self.image_shape
        counts = torch.bincount(self.train_y, minlength=self.num_classes).tolist() if len(self.train_y) else []
        return DataInfo(self.name, c, h, w, self.num_classes, len(self.train_x), tuple(counts))


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know to build its networks (and a probe, to check its options).

    ``train_class_counts[c]``: training examples of class ``c``.
    """

    name: str
    channels: int
    height: int
    width: int
    num_classes: int
    n_train: int
    train_class_counts: tuple[int, ...] = ()


def fingerprint_tensors(*tensors: torch.Tensor) -> str:
    """sha256 (first 16 hex digits) of the exact bytes, shapes and dtypes used."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(np.ascontiguousarray(t.numpy()).tobytes())
    return h.hexdigest()[:16]


def to_model_input(
    x: torch.Tensor, size: int | None, value_range: tuple[float, float], device: torch.device | str
) -> torch.Tensor:
    """uint8 ``(B, C, H, W)`` -> float32 on ``device``, in ``value_range``, at ``size``."""
    x = x.to(device, non_blocking=True).float().div_(255.0)
    if size is not None and (x.shape[-2] != size or x.shape[-1] != size):
        x = fit_size(x, size)
    lo, hi = value_range
    if (lo, hi) != (0.0, 1.0):
        x = x.mul_(hi - lo).add_(lo)
    return x


def fit_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad when the image is at most 4 px smaller on each side (28 -> 32), else resize."""
    h, w = x.shape[-2:]
    dh, dw = size - h, size - w
    if 0 <= dh <= 4 and 0 <= dw <= 4 and dh % 2 == 0 and dw % 2 == 0:
        return F.pad(x, (dw // 2, dw // 2, dh // 2, dh // 2))
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def to_uint8(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Model-range floats -> uint8 images on the CPU (for pictures and pixel-space probes)."""
    lo, hi = value_range
    x = (x.detach().float().cpu() - lo) / (hi - lo)
    return x.clamp_(0, 1).mul_(255).round_().to(torch.uint8)


def fit_back(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`fit_size`: model-size images back to the dataset's size (crop or resize)."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    dh, dw = h - height, w - width
    if 0 <= dh <= 4 and 0 <= dw <= 4 and dh % 2 == 0 and dw % 2 == 0:
        return x[..., dh // 2 : dh // 2 + height, dw // 2 : dw // 2 + width]
    return F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
