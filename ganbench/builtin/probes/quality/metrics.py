"""Sample-quality formulas on features: FID, KID, precision/recall, density/coverage.

Every function takes two feature sets, ``real`` ``(N, D)`` and ``fake``
``(M, D)`` (any float arrays), and knows nothing about where they came from.
The tests check them against closed forms, against torch-fidelity
(FID, the KID estimator) and against ``prdc.compute_prdc`` (the reference
code of Naeem et al. 2020).

- FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted
  to the two sets, ``|mu_r - mu_f|^2 + tr(S_r + S_f - 2 (S_r^1/2 S_f S_r^1/2)^1/2)``.
- KID (Bińkowski et al. 2018): the unbiased estimator of the squared MMD with
  the cubic polynomial kernel ``(x.y / D + 1)^3``, averaged over random
  subsets (torch-fidelity's defaults: 100 subsets of 1,000).
- precision / recall (Kynkäänniemi et al. 2019) and density / coverage
  (Naeem et al. 2020) from k-nearest-neighbour balls, computed block by
  block so 10,000 x 10,000 never sits in memory at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

BLOCK = 1024  # rows of a distance matrix held at once


@dataclass(frozen=True)
class Gaussian:
    """Mean ``(D,)`` and covariance ``(D, D)`` of a feature set, float64."""

    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> "Gaussian":
        x = np.asarray(features, dtype=np.float64)
        return cls(x.mean(0), np.atleast_2d(np.cov(x, rowvar=False)))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: Gaussian, b: Gaussian) -> float:
    """Fréchet (2-Wasserstein squared) distance between two Gaussians.

    ``tr((S_a S_b)^1/2)`` is taken as ``tr((S_a^1/2 S_b S_a^1/2)^1/2)``: the
    same value, but the matrix is symmetric, so its eigenvalues are real
    and the square root needs no complex arithmetic.
    """
    root_a = _sqrt_psd(a.cov)
    middle = root_a @ b.cov @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = a.mean - b.mean
    return float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_root)


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets ``(N, D)`` and ``(M, D)``."""
    return frechet_distance(Gaussian.fit(real), Gaussian.fit(fake))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel ``(x.y / D + 1)^3``: ``(n, D), (m, D) -> (n, m)``."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD of two equal-size sets (Bińkowski et al. 2018, eq. 3 with ``m = n``)."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


@dataclass(frozen=True)
class KID:
    """KID: ``value`` (mean over subsets), ``stderr``, ``std`` over subsets, subset size and count."""

    value: float
    stderr: float
    std: float
    subset_size: int
    subsets: int


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KID:
    """KID of two feature sets: the unbiased MMD² averaged over ``subsets`` random subsets.

    Each subset draws ``subset_size`` points (at most the smaller set) from
    each side without replacement. The subsets overlap, so their spread says
    little about the mean's error on its own; the standard error treats the
    draw as worth ``min(N, M) // subset_size`` independent subsets (what
    disjoint subsets would give), ``std / sqrt(that)``.
    """
    x, y = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError(f"KID needs at least 2 points on each side, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    values = np.array([mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                                     y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)])
    std = float(values.std(ddof=1)) if subsets > 1 else 0.0
    independent = max(1, min(len(x), len(y)) // size)
    return KID(float(values.mean()), std / np.sqrt(independent), std, size, subsets)


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``(n, D), (m, D) -> (n, m)``, float64."""
    return torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist")


def kth_neighbour_distance(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its ``k``-th nearest other point of the same set ``(N,)``."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if len(t) <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} points, got {len(t)}")
    out = []
    for start in range(0, len(t), BLOCK):
        d = _distances(t[start:start + BLOCK], t)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # position 0 is the point itself
    return torch.cat(out).numpy()


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> dict[str, float]:
    """Precision, recall (k = ``k_pr``) and density, coverage (k = ``k_dc``); the reference set is ``real``.

    precision: fraction of fake points inside some real point's k-NN ball;
    recall: fraction of real points inside some fake point's k-NN ball;
    density: mean over fake points of the number of real balls holding it, over k;
    coverage: fraction of real balls holding at least one fake point.
    Balls are open (strict ``<``), as in the reference code.
    """
    r = torch.as_tensor(np.asarray(real, dtype=np.float64))
    f = torch.as_tensor(np.asarray(fake, dtype=np.float64))
    radius_real_pr = torch.as_tensor(kth_neighbour_distance(real, k_pr))
    radius_fake_pr = torch.as_tensor(kth_neighbour_distance(fake, k_pr))
    radius_real_dc = radius_real_pr if k_dc == k_pr else torch.as_tensor(kth_neighbour_distance(real, k_dc))
    in_real_ball = torch.zeros(len(f), dtype=torch.bool)
    real_balls_holding = torch.zeros(len(f), dtype=torch.float64)
    recalled = torch.zeros(len(r), dtype=torch.bool)
    covered = torch.zeros(len(r), dtype=torch.bool)
    for start in range(0, len(r), BLOCK):
        d = _distances(r[start:start + BLOCK], f)  # (block, M)
        stop = start + len(d)
        in_real_ball |= (d < radius_real_pr[start:stop, None]).any(0)
        real_balls_holding += (d < radius_real_dc[start:stop, None]).sum(0)
        recalled[start:stop] = (d < radius_fake_pr[None, :]).any(1)
        covered[start:stop] = d.min(1).values < radius_real_dc[start:stop]
    return {
        "precision": float(in_real_ball.double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(real_balls_holding.mean() / k_dc),
        "coverage": float(covered.double().mean()),
    }
