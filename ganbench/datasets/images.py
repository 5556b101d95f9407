"""Decoding compressed images into uint8 ``(C, H, W)`` arrays, with the DCGAN resize rule."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ganbench.system.errors import DataError

# Modes kept as one channel; every other mode is converted to RGB.
GRAY_MODES = frozenset({"1", "L", "LA"})


def decode_image(source: bytes | Path, what: str) -> Image.Image:
    """The decoded image, or a one-line DataError naming ``what`` (a file, or a database key)."""
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, (bytes, memoryview)) else source)
        image.load()  # PIL decodes lazily; force it so a truncated file fails here
    except Exception as exc:  # PIL's decoders fail on bad bytes with many exception types
        raise DataError(f"{what}: not a decodable image ({type(exc).__name__}: {' '.join(str(exc).split())}).") from None
    return image


def channels_of(image: Image.Image) -> int:
    return 1 if image.mode in GRAY_MODES else 3


def to_chw(image: Image.Image, channels: int) -> np.ndarray:
    """uint8 ``(channels, H, W)``; gray images given 3 channels repeat their one channel."""
    array = np.array(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)  # a writable copy
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def center_crop_resize(image: Image.Image, size: int) -> Image.Image:
    """DCGAN's rule (its PyTorch reference): scale the shorter side to ``size``, then crop the centre.

    An image whose shorter side already is ``size`` is only cropped, so its pixels are kept exactly.
    """
    from torchvision.transforms import functional as TF

    return TF.center_crop(TF.resize(image, size), size)
