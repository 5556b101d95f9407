"""The probe protocol: what a probe plugin implements and what it is given.

A probe's ``run(ctx)`` returns :class:`Metric` objects. ``ctx`` hands it
everything it may use: cached features of the current view for each split,
the dataset's uint8 images and labels, generated images, the seed, the
device and a folder for pictures. A probe never sees the test split while
choosing hyper-parameters; :mod:`ganbench.api.splits` carves validation splits
and label budgets from the training split.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # torch stays unimported until a probe runs: plugin modules subclass Probe at import
    import torch

    from ganbench.api.data import DataInfo, Dataset


def _is_tensor(value) -> bool:
    """A torch tensor (torch is imported already if ``value`` is one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


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

    ``predictions`` (optional, for classification probes): the class the
    probe predicted for every test example, in the order of
    ``ctx.features("test")`` -- an integer array ``(n_test,)``, or
    ``(draws, n_test)`` when the figure is a mean over label draws. The core
    checks it against the test split and keeps it beside the store, so that
    ``ganbench compare`` can test two rows example by example (McNemar, a
    paired bootstrap). Rows without it still compare, over seeds only.
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
    predictions: Any = None


MAX_DETAILS_BYTES = 64 * 1024  # a row is one line of the store; details hold facts, not data
MAX_DETAILS_ARRAY = 4096  # numpy arrays up to this many elements are stored as lists
MAX_DETAILS_DEPTH = 20  # dicts and lists inside details; deeper is data, not facts (and would overflow the stack)
MAX_METRIC_NAME = 200  # characters: a name says a setting (acc_l2_k1_majority), it holds no data


class MetricError(ValueError):
    """A metric a probe returned that cannot be stored; the message says which field and why."""


def _kind(value) -> str:
    return f"{type(value).__module__}.{type(value).__name__}".replace("builtins.", "")


def _real(value, what: str) -> float:
    """``value`` as a finite float: Python and numpy real scalars only."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        hint = "; use .item()" if (_is_tensor(value) or isinstance(value, np.ndarray)) else ""
        raise MetricError(f"{what} is a {_kind(value)} ({str(value)[:40]!r}), expected a real number{hint}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range, e.g. 10**400
        raise MetricError(f"{what} is an integer of {int(value).bit_length()} bits, beyond a float's range") from None
    if not math.isfinite(number):
        raise MetricError(f"{what} is {number}, expected a finite number")
    return number


def _count(value, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise MetricError(f"{what} is {repr(value)[:40]}, expected a non-negative int or None")
    return int(value)


def _plain(value, where: str, depth: int = 0):
    """``value`` in JSON's types (numpy scalars and small arrays unwrapped; non-finite floats as null)."""
    if depth > MAX_DETAILS_DEPTH:
        raise MetricError(f"details are nested more than {MAX_DETAILS_DEPTH} levels deep (at {where[:80]}...)")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise MetricError(f"{where[:80]} is an integer of {value.bit_length()} bits; store it as a float or a str")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size <= MAX_DETAILS_ARRAY:
        return _plain(value.tolist(), where, depth)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise MetricError(f"{where} has a key {bad[0]!r} that is not a str")
        return {k: _plain(v, f"{where}[{k[:40]!r}]", depth + 1) for k, v in value.items()}
    hint = "; use .item() or .tolist()" if (_is_tensor(value) or isinstance(value, np.ndarray)) else ""
    raise MetricError(f"{where} is a {_kind(value)}, which JSON cannot hold{hint}")


def check_metric(metric: object) -> "Metric":
    """``metric`` ready to store (floats, ints and JSON-safe details), or :class:`MetricError` saying why not."""
    if not isinstance(metric, Metric):
        raise MetricError(f"returned a {_kind(metric)} where a ganbench.Metric was expected")
    if not isinstance(metric.name, str) or not metric.name.strip():
        raise MetricError(f"metric name {repr(metric.name)[:40]} is not a non-empty str")
    if len(metric.name) > MAX_METRIC_NAME:
        raise MetricError(f"metric name of {len(metric.name):,} characters ({metric.name[:40]!r}...), more than "
                          f"{MAX_METRIC_NAME}: a name says the setting; keep data in details")
    value = _real(metric.value, "value")
    direction = metric.higher_is_better
    if isinstance(direction, np.bool_):
        direction = bool(direction)
    if direction is not None and not isinstance(direction, bool):
        raise MetricError(f"higher_is_better is {direction!r}, expected True, False, or None with a target")
    target = None if metric.target is None else _real(metric.target, "target")
    if direction is None and target is None:
        raise MetricError("higher_is_better is None and no target is set: say which direction is better")
    stderr = None if metric.stderr is None else _real(metric.stderr, "stderr")
    if stderr is not None and stderr < 0:
        raise MetricError(f"stderr is {stderr}, expected >= 0")
    if not isinstance(metric.details, dict):
        raise MetricError(f"details is a {_kind(metric.details)}, expected a dict")
    details = _plain(metric.details, "details")
    size = len(json.dumps(details))
    if size > MAX_DETAILS_BYTES:
        raise MetricError(f"details take {size:,} bytes as JSON, more than {MAX_DETAILS_BYTES:,}; keep facts, "
                          f"not data, in details (write arrays to ctx.artifacts_dir)")
    return replace(metric, value=value, higher_is_better=direction, target=target, stderr=stderr,
                   n_train=_count(metric.n_train, "n_train"), n_test=_count(metric.n_test, "n_test"),
                   labels_used=_count(metric.labels_used, "labels_used"), details=details)


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
    :class:`~ganbench.api.data.DataInfo` (``train_class_counts`` included): raise
    :class:`~ganbench.system.errors.UsageError` there for options this dataset
    cannot satisfy (e.g. more labels per class than a class has), so the
    user hears it in one line before a long training instead of in a failed
    row after it. The default accepts everything.
    """

    def __init__(self, **options):
        self.options = options

    def check(self, info: DataInfo) -> None:
        """Raise ``UsageError`` when this probe cannot run on a dataset of ``info``; default: no check."""

    def run(self, ctx: ProbeContext) -> list[Metric]:
        """Score the current view; every returned metric is checked by :func:`check_metric` before it is stored."""
        raise NotImplementedError
