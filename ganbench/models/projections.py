"""Removing the real/fake information from features: rank-1 and INLP projections.

Both are linear maps onto the orthogonal complement of a set of directions,
``f -> f - B (B^T f)`` with ``B`` an orthonormal ``(D, k)`` basis.

- rank-1: ``B`` is the unit weight vector of D's real/fake layer.
- INLP (Ravfogel et al. 2020, iterative nullspace projection): fit a linear
  real-vs-generated classifier, add its weight direction to ``B``, fit again on
  the projected features, ... until a classifier does no better than chance.

The classifiers are ridge regressions on +-1 targets (a least-squares linear
discriminant), fitted on one half of the real and generated features and
scored on the other half. Every round tries a grid of ridge strengths and
keeps the best held-out accuracy, so "chance" is claimed only when none of
them separates the classes. A classifier restricted to the complement of
``B`` is the solution of the ridge problem under the constraint ``B^T w = 0``:
``w = A^-1 b - A^-1 B (B^T A^-1 B)^-1 B^T A^-1 b`` with ``A = X^T X + lambda I``,
``b = X^T t``; one Cholesky factor per ridge strength serves every round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

RIDGE_GRID = (1e-3, 1e-2, 1e-1, 1.0)  # times the mean feature variance (trace of X^T X / D)


def project_out(features: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``features (N, D)`` minus their components along the orthonormal columns of ``basis (D, k)``."""
    if basis.shape[1] == 0:
        return features
    basis = basis.to(features.dtype)
    return features - (features @ basis) @ basis.T


@dataclass
class InlpFit:
    """The outcome of INLP: the removed directions and the real/fake accuracies along the way."""

    basis: torch.Tensor  # (D, k) orthonormal, float32
    accuracies: list[float] = field(default_factory=list)  # held-out accuracy before each removal, then after the last

    @property
    def directions(self) -> int:
        return self.basis.shape[1]

    @property
    def accuracy_before(self) -> float:
        return self.accuracies[0]

    @property
    def accuracy_after(self) -> float:
        return self.accuracies[-1]


class _Ridge:
    """One ridge strength: the Cholesky factor of ``A = X^T X + lambda I`` and, for the
    directions added so far (``B``), ``A^-1 B``, ``B^T A^-1 B`` and ``B^T A^-1 b``, grown
    one direction at a time so a round costs O(D k) instead of O(D k^2)."""

    def __init__(self, gram: torch.Tensor, rhs: torch.Tensor, lam: float):
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        self.chol = torch.linalg.cholesky(gram + lam * eye)
        self.a_rhs = self.solve(rhs[:, None])[:, 0]
        self.a_basis = rhs.new_zeros(rhs.shape[0], 0)
        self.m = rhs.new_zeros(0, 0)
        self.basis_a_rhs = rhs.new_zeros(0)

    def solve(self, m: torch.Tensor) -> torch.Tensor:
        return torch.cholesky_solve(m, self.chol)

    def add_direction(self, basis: torch.Tensor) -> None:
        """``basis``: every direction so far, the new one last."""
        u = basis[:, -1]
        a_u = self.solve(u[:, None])
        self.a_basis = torch.cat([self.a_basis, a_u], dim=1)
        column = basis.T @ a_u  # (k, 1): B^T A^-1 u, symmetric partner of the new row
        self.m = torch.cat([torch.cat([self.m, column[:-1].T]), column], dim=1)
        self.basis_a_rhs = torch.cat([self.basis_a_rhs, (u @ self.a_rhs)[None]])

    def weights(self) -> torch.Tensor:
        """The ridge weights under ``B^T w = 0``."""
        if self.a_basis.shape[1] == 0:
            return self.a_rhs
        return self.a_rhs - self.a_basis @ torch.linalg.solve(self.m, self.basis_a_rhs)

    def weights_for(self, basis: torch.Tensor) -> torch.Tensor:
        """The ridge weights under ``basis^T w = 0`` for any ``basis`` (computed afresh)."""
        if basis.shape[1] == 0:
            return self.a_rhs
        a_basis = self.solve(basis)
        return self.a_rhs - a_basis @ torch.linalg.solve(basis.T @ a_basis, basis.T @ self.a_rhs)


class RealFakeSeparability:
    """How well a linear classifier tells real from generated features, and INLP on them.

    ``real (N, D)`` and ``fake (M, D)`` are split in halves (``generator``
    picks which examples go where): classifiers are fitted on one half of each
    and scored on the other, with balanced weights (each class counts half).
    """

    def __init__(self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                 ridge_grid=RIDGE_GRID):
        fit_r, held_r = _halves(real, generator)
        fit_f, held_f = _halves(fake, generator)
        x = torch.cat([fit_r, fit_f]).double()
        # targets +1/n_real and -1/n_fake: least squares then finds Fisher's discriminant
        # direction, whatever the class sizes
        t = torch.cat([torch.full((len(fit_r),), 1.0 / len(fit_r)), torch.full((len(fit_f),), -1.0 / len(fit_f))])
        t = t.to(x)
        self.mean = (fit_r.double().mean(0) + fit_f.double().mean(0)) / 2
        x = x - self.mean
        gram, rhs = x.T @ x, x.T @ t
        scale = float(gram.diagonal().mean().clamp_min(1e-12))
        self.ridges = [_Ridge(gram, rhs, lam * scale) for lam in ridge_grid]
        self.held_real = held_r.double() - self.mean
        self.held_fake = held_f.double() - self.mean
        self.dim = real.shape[1]

    def _balanced_accuracy(self, w: torch.Tensor) -> float:
        real_ok = (self.held_real @ w > 0).double().mean()
        fake_ok = (self.held_fake @ w <= 0).double().mean()
        return float((real_ok + fake_ok) / 2)

    def _best(self) -> tuple[float, torch.Tensor]:
        scored = [(self._balanced_accuracy(w), w) for w in (r.weights() for r in self.ridges)]
        return max(scored, key=lambda s: s[0])

    def accuracy(self, basis: torch.Tensor | None = None) -> float:
        """Best held-out accuracy of a linear classifier on the features with ``basis`` projected out."""
        basis = self._empty() if basis is None else basis.to(self.mean)
        return max(self._balanced_accuracy(r.weights_for(basis)) for r in self.ridges)

    def inlp(self, max_directions: int, tolerance: float) -> InlpFit:
        """(Once per object.) Remove classifier directions until held-out accuracy <= 0.5 + ``tolerance``
        (or ``max_directions`` are gone, or the features are used up)."""
        basis = self._empty()
        accuracies = []
        while True:
            acc, w = self._best()
            accuracies.append(acc)
            if acc <= 0.5 + tolerance or basis.shape[1] >= min(max_directions, self.dim):
                break
            u = w - basis @ (basis.T @ w)  # already orthogonal in exact arithmetic; keep it so
            norm = u.norm()
            if norm <= 1e-12:
                break
            u = u / norm
            basis = torch.cat([basis, u[:, None]], dim=1)
            for r in self.ridges:
                r.add_direction(basis)
        return InlpFit(basis.float(), accuracies)

    def _empty(self) -> torch.Tensor:
        return self.mean.new_zeros(self.dim, 0)


def _halves(x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(x), generator=generator).to(x.device)
    half = len(x) // 2
    return x[order[:half]], x[order[half:]]
