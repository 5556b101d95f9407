"""The duplicate lists of `ganbench dedup`: read, checked and applied to a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import UsageError
from ganbench.system.paths import dedup_path


def read_drop_list(path: Path, n_train: int) -> list[int]:
    """The validated ``drop`` list of a dedup file: distinct integer indices into the training split."""
    redo = "Delete it and run `ganbench dedup` again with the same --cache-dir."
    try:
        drop = json.loads(path.read_text())["drop"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"Damaged duplicate list {path}: expected JSON with a \"drop\" list "
                         f"({type(exc).__name__}). {redo}") from None
    if not isinstance(drop, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in drop):
        raise UsageError(f"Damaged duplicate list {path}: \"drop\" must be a list of integers. {redo}")
    bad = next((i for i in drop if not 0 <= i < n_train), None)
    if bad is not None:
        raise UsageError(f"Damaged duplicate list {path}: index {bad} is outside the training split "
                         f"(0 to {n_train - 1}). {redo}")
    if len(set(drop)) != len(drop):
        raise UsageError(f"Damaged duplicate list {path}: it repeats indices. {redo}")
    return drop


def drop_duplicates(dataset: Dataset, cache_dir: str) -> Dataset:
    """The dataset without the training images that ``ganbench dedup`` listed to drop."""
    path = dedup_path(Path(cache_dir), dataset.name, dataset.fingerprint)
    if not path.exists():
        raise UsageError(f"No duplicate list for dataset '{dataset.name}' (fingerprint {dataset.fingerprint}) at {path}. "
                         f"Run `ganbench dedup --dataset {dataset.name}` first, with the same --cache-dir.")
    drop = read_drop_list(path, len(dataset.train_x))
    keep = torch.ones(len(dataset.train_x), dtype=torch.bool)
    keep[torch.as_tensor(drop, dtype=torch.long)] = False
    return Dataset(f"{dataset.name}+dedup", dataset.train_x[keep].contiguous(), dataset.train_y[keep], dataset.test_x,
                   dataset.test_y, dataset.classes, source=dataset.source,
                   notes={**dataset.notes, "dedup_dropped": len(drop), "dedup_list": str(path)})
