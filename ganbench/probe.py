"""The probe protocol: what a probe plugin implements and what it is given.

A probe's ``run(ctx)`` returns :class:`Metric` objects. ``ctx`` hands it
everything it may use: cached features of the current view for each split,
the dataset's uint8 images and labels, generated images, the seed, the
device and a folder for pictures. A probe never sees the test split while
choosing hyper-parameters; :mod:`ganbench.splits` carves validation splits
and label budgets from the training split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .data import DataInfo, Dataset


@dataclass
class Metric:
    """One figure; becomes one result row.

    ``name`` says the setting (``acc_l2_k1_majority``); ``stderr`` is set when
    the probe repeats (label draws); ``details`` holds what a reader needs to
    reproduce the figure (the chosen C, the feature dimension, ...).

    The direction is either ``higher_is_better`` (``True`` or ``False``) or,
    for figures where closer to a value is better (a nearest-neighbour
    distance ratio near 1, a data-copying statistic near 0),
    ``higher_is_better=None`` and ``target`` set to that value.
    """

    name: str
    value: float
    higher_is_better: bool | None
    stderr: float | None = None
    n_train: int | None = None
    n_test: int | None = None
    labels_used: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    target: float | None = None


@dataclass
class ProbeContext:
    """What a probe may use. Created by the core for each (probe, view).

    ``cache_dir`` is the run's cache folder (``--cache-dir``), for things a
    probe derives from the dataset alone and may reuse across runs (e.g. a
    classifier trained on the training split); key what you store there by
    ``dataset.fingerprint``. ``None`` when the caller gives no folder: then
    compute and keep nothing.
    """

    dataset: Dataset
    view: str | None
    seed: int
    device: torch.device
    artifacts_dir: Path
    model: Any
    _features: Callable[[str], np.ndarray]
    _embed: Callable[[torch.Tensor], np.ndarray]
    _generate: Callable[[int, int], torch.Tensor]
    log: Callable[[str], None] = print
    cache_dir: Path | None = None

    def features(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(features float32 (N, D), labels int64 (N,))`` of the current view for ``split``."""
        _, y = self.dataset.split(split)
        return self._features(split), y.numpy()

    def embed(self, images: torch.Tensor) -> np.ndarray:
        """Features of the current view for any uint8 images ``(N, C, H, W)`` at the dataset's size."""
        return self._embed(images)

    def generate(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` generated images as uint8 ``(n, C, H, W)`` at the dataset's size (needs ``generator``)."""
        return self._generate(n, self.seed if seed is None else seed)


class Probe:
    """Base class for probe plugins.

    ``check(info)`` (optional) is called by the core once the dataset has
    loaded and before any model trains, with the dataset's
    :class:`~ganbench.data.DataInfo` (``train_class_counts`` included): raise
    :class:`~ganbench.errors.UsageError` there for options this dataset
    cannot satisfy (e.g. more labels per class than a class has), so the
    user hears it in one line before a long training instead of in a failed
    row after it. The default accepts everything.
    """

    def __init__(self, **options):
        self.options = options

    def check(self, info: DataInfo) -> None:
        """Raise ``UsageError`` when this probe cannot run on a dataset of ``info``; default: no check."""

    def run(self, ctx: ProbeContext) -> list[Metric]:
        raise NotImplementedError
