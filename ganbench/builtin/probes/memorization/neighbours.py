"""Nearest training neighbours of generated and held-out images.

For every generated sample and every held-out (test) image, the Euclidean
distance to its nearest training image, found by exact FAISS search
(``IndexFlatL2``). A generator that copies its training set puts its samples
much closer to the training set than unseen real images are: the ratio of
the two medians drops far below 1. The median (not the mean) is used so a
few wild samples do not hide copying; means, quantiles and the fraction of
samples closer than the closest 1% of held-out images go in the details.

Also draws the picture a reader checks by eye: samples beside their nearest
training images.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import torch
from torchvision.utils import save_image


def pixel_vectors(images: torch.Tensor) -> np.ndarray:
    """uint8 ``(N, C, H, W)`` -> float32 ``(N, C*H*W)`` in [0, 1] (the dataset's own size)."""
    return images.reshape(len(images), -1).float().div_(255.0).numpy()


def nearest_training(train: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Euclidean distance, training index)`` of each query's nearest training vector."""
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(np.ascontiguousarray(train, dtype=np.float32))
    squared, neighbours = index.search(np.ascontiguousarray(queries, dtype=np.float32), 1)
    # FAISS expands |a-b|^2 and may return tiny negatives for identical vectors
    return np.sqrt(np.maximum(squared[:, 0], 0.0)), neighbours[:, 0]


def distance_ratio(generated: np.ndarray, heldout: np.ndarray) -> dict:
    """Summary of generated vs held-out nearest-training distances; ``ratio`` is the medians' ratio."""
    gen_median, held_median = float(np.median(generated)), float(np.median(heldout))
    closest_percent = float(np.quantile(heldout, 0.01))
    return {
        "ratio": gen_median / held_median if held_median > 0 else float("nan"),
        "generated_median": gen_median,
        "heldout_median": held_median,
        "generated_mean": float(np.mean(generated)),
        "heldout_mean": float(np.mean(heldout)),
        "ratio_of_means": float(np.mean(generated) / np.mean(heldout)) if np.mean(heldout) > 0 else float("nan"),
        "generated_quantiles_10_50_90": [float(q) for q in np.quantile(generated, [0.1, 0.5, 0.9])],
        "heldout_quantiles_10_50_90": [float(q) for q in np.quantile(heldout, [0.1, 0.5, 0.9])],
        # a fresh generator puts about 1% of its samples here; a copier, most of them
        "generated_fraction_below_heldout_p1": float(np.mean(generated < closest_percent)),
    }


def save_neighbour_grid(path: Path, samples: torch.Tensor, neighbours: torch.Tensor, per_row: int = 8) -> Path:
    """Write a PNG of rows of samples, each row followed by a row of their nearest training images."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for start in range(0, len(samples), per_row):
        rows += [_pad_row(samples[start:start + per_row], per_row), _pad_row(neighbours[start:start + per_row], per_row)]
    grid = torch.cat(rows).float().div_(255.0)
    # mid-grey frames keep black-background digits apart
    save_image(grid, str(path), nrow=per_row, padding=2, pad_value=0.5)
    return path


def _pad_row(images: torch.Tensor, per_row: int) -> torch.Tensor:
    missing = per_row - len(images)
    if missing == 0:
        return images
    return torch.cat([images, images.new_zeros((missing, *images.shape[1:]))])
