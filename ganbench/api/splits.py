"""Split helpers shared by probes.

Model selection never touches the test split: a validation split is carved
from the training split. Label budgets draw ``n`` labels per class, seeded,
so a draw is repeatable and draws with different ``draw`` indices differ.
"""

from __future__ import annotations

import numpy as np

from ganbench.system.errors import UsageError


def validation_split(labels: np.ndarray, fraction: float = 0.1, size: int | None = None, seed: int = 0):
    """Indices ``(fit, val)`` into the training split, stratified by class.

    ``size`` (a count) wins over ``fraction``. The split has exactly that
    many examples, shared out in proportion to the class counts, except that
    every class keeps at least one example on each side when it has two or
    more.
    """
    labels = np.asarray(labels)
    n = len(labels)
    n_val = size if size is not None else max(1, int(round(fraction * n)))
    if not 0 < n_val < n:
        raise ValueError(f"validation size {n_val} must be between 1 and {n - 1}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    val = []
    for cls, take in zip(classes, per_class_counts(counts, n_val)):
        val.append(rng.permutation(np.flatnonzero(labels == cls))[:take])
    val = np.sort(np.concatenate(val))
    fit = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return fit, val


def per_class_counts(counts: np.ndarray, total: int) -> np.ndarray:
    """``total`` shared out in proportion to ``counts`` (largest remainders), each within [1, count - 1]."""
    exact = total * counts / counts.sum()
    take = np.floor(exact).astype(int)
    short = total - take.sum()
    take[np.argsort(take - exact, kind="stable")[:short]] += 1  # largest fractional parts first
    return np.clip(take, (counts > 1).astype(int), np.maximum(counts - 1, 0))


def label_budget(labels: np.ndarray, per_class: int, seed: int = 0, draw: int = 0, exclude=None) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class (draw ``draw`` of seed ``seed``).

    ``exclude`` (indices) are never drawn, e.g. a validation split.
    """
    labels = np.asarray(labels)
    allowed = np.ones(len(labels), dtype=bool)
    if exclude is not None:
        allowed[np.asarray(exclude)] = False
    rng = np.random.default_rng([seed, draw])
    picked = []
    for cls in np.unique(labels):
        idx = np.flatnonzero((labels == cls) & allowed)
        if len(idx) < per_class:
            raise ValueError(f"class {cls} has only {len(idx)} examples, fewer than the {per_class} labels asked for")
        picked.append(rng.choice(idx, size=per_class, replace=False))
    return np.sort(np.concatenate(picked))


def check_label_budget(probe: str, per_class: int, available, dataset: str, after: str = "") -> None:
    """One line (UsageError) when a class has fewer than ``per_class`` examples to draw labels from.

    ``available[c]``: the examples of class ``c`` a draw may use (classes with none are not drawn).
    """
    if per_class <= 0:
        return
    drawn = [(c, int(n)) for c, n in enumerate(available) if n > 0]
    short = [(c, n) for c, n in drawn if n < per_class]
    if short:
        cls, n = min(short, key=lambda item: item[1])
        raise UsageError(f"Probe '{probe}': labels_per_class={per_class}, but class {cls} of dataset '{dataset}' "
                         f"has only {n} training examples{after}. Use --probe-opt {probe}.labels_per_class={n} or fewer.")
