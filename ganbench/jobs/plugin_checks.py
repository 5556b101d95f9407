"""Run-time checks of what a model plugin hands the core: features and samples.

A plugin that returns a 4-D array, one row short, NaN, or images in [0, 255]
would otherwise fail deep inside FAISS or numpy, or worse, give figures that
look fine (NaN features vote for class 0; pixels in [0, 255] are clamped to a
white picture). Each check raises :class:`PluginOutputError`, whose message
names the plugin, the view or method, and what was expected.
"""

from __future__ import annotations

import math

import torch


class PluginOutputError(RuntimeError):
    """A model plugin returned something the protocol does not allow; the message says what and where."""


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    shape = getattr(value, "shape", None)
    return f"a {type(value).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


def checked_features(f, batch: int, view: str, plugin: str, dim: int | None = None) -> torch.Tensor:
    """``f`` from ``features(x, view)`` for ``batch`` images, if it is a finite float ``(batch, D)`` tensor
    (``D`` = ``dim`` when given: every batch of a view has the same width)."""
    where = f"model plugin '{plugin}' view '{view}': features()"
    if not isinstance(f, torch.Tensor):
        raise PluginOutputError(f"{where} returned {_describe(f)}, expected a float torch.Tensor ({batch}, D)")
    if f.dim() != 2 or f.shape[0] != batch or (dim is not None and f.shape[1] != dim):
        width = "D" if dim is None else str(dim)
        raise PluginOutputError(f"{where} returned shape {tuple(f.shape)} for a batch of {batch} images, "
                                f"expected ({batch}, {width}): 2-D, one row per image")
    if not f.is_floating_point():
        raise PluginOutputError(f"{where} returned dtype {str(f.dtype).replace('torch.', '')}, expected a float dtype")
    bad = ~torch.isfinite(f)
    if bool(bad.any()):
        rows = int(bad.any(1).sum())
        raise PluginOutputError(f"{where} returned non-finite values (NaN or inf) in {rows} of {batch} rows")
    return f


def checked_samples(x, n: int, channels: int, value_range: tuple[float, float], plugin: str) -> torch.Tensor:
    """``x`` from ``sample(n, g)`` if it is a finite float ``(n, channels, H, W)`` tensor within ``value_range``
    (the model protocol: samples are in the range the networks see images in)."""
    where = f"model plugin '{plugin}': sample({n})"
    if not isinstance(x, torch.Tensor):
        raise PluginOutputError(f"{where} returned {_describe(x)}, expected a float torch.Tensor ({n}, C, H, W)")
    if x.dim() != 4 or x.shape[0] != n or x.shape[1] != channels:
        raise PluginOutputError(f"{where} returned shape {tuple(x.shape)}, expected ({n}, {channels}, H, W)")
    if not x.is_floating_point():
        raise PluginOutputError(f"{where} returned dtype {str(x.dtype).replace('torch.', '')}, expected a float "
                                f"dtype with values in {list(value_range)}")
    if not bool(torch.isfinite(x).all()):
        raise PluginOutputError(f"{where} returned non-finite values (NaN or inf)")
    low, high = value_range
    slack = 1e-3 * (high - low)  # float rounding of a tanh output, not a different scale
    found_low, found_high = float(x.min()), float(x.max())
    if found_low < low - slack or found_high > high + slack:
        raise PluginOutputError(
            f"{where} returned values in [{_num(found_low)}, {_num(found_high)}], expected the model's value_range "
            f"[{_num(low)}, {_num(high)}] (map images to value_range, e.g. x / 127.5 - 1 for [-1, 1])")
    return x


def _num(v: float) -> str:
    return f"{v:g}" if math.isfinite(v) else str(v)
