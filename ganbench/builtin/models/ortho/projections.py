"""Removing the real/fake information from features: rank-1 and INLP projections.

Both are linear maps onto the orthogonal complement of a set of directions,
``f -> f - B (B^T f)`` with ``B`` an orthonormal ``(D, k)`` basis in the view's
own coordinates.

- rank-1: ``B`` is the unit weight vector of D's real/fake layer.
- INLP (Ravfogel et al. 2020, iterative nullspace projection): train a linear
  real-vs-generated classifier, add its weight direction to ``B``, train again
  on the projected features, ... until a classifier does no better than chance.

Each round's classifier is the better, on held-out data, of two linear
classifiers with their own threshold, both fitted on one half of the real and
generated features and scored (balanced accuracy) on the other half:

- a logistic regression (L2, own intercept, balanced class weights), trained
  by L-BFGS and warm-started from the previous round;
- once that one is at chance, a threshold along the direction where the two
  classes' spreads differ most (top eigenvectors, by magnitude, of
  ``cov_real - cov_fake`` by a subspace iteration carried from round to
  round), with the threshold and side that fit best.

The second is needed because every convex-loss linear classifier (least
squares, logistic regression, SVM) is blind once the fitting half's class
means coincide: its optimum is then ``w = 0``. A threshold can still separate
the classes there, e.g. a young generator's nearly constant samples from
spread-out real features (a point mass is on one side of a threshold beside
it, about half the real examples on the other: balanced accuracy ~0.75).
Against a fully collapsed generator that holds along every direction where the
real features vary; INLP then removes all of them and the view is exactly zero.

Both see standardized features ``z = (P f - c) / s``: ``c`` the midpoint of
the class means and ``s`` the per-feature standard deviation, both of the
unprojected fitting half and fixed across rounds, ``P`` the projection so far.
A direction ``v`` in ``z`` reads the raw view through ``P (v / s)``; that
vector, orthonormalised against ``B``, is the one removed, so ``B`` stays an
orthonormal basis of the view's own coordinates and the INLP view is an
orthogonal projection of it. INLP stops when the held-out accuracy is at most
0.5 + tolerance, after ``max_directions``, or when the new direction has
(relative to the classifier) nothing left outside ``B``.

Cost per round: a few dozen products of the fitting half with a vector (or 8
vectors, for spreads); d-last at width 64 (4096 dims, 5,000 + 5,000 fitting
examples) takes 1-4 s a round on 2 busy CPU cores, far less on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

MAX_ITERATIONS = 40  # L-BFGS iterations per classifier (held-out accuracy no longer moves by then)
SPREAD_BLOCK = 8  # directions tracked by the subspace iteration for spread differences
SPREAD_ITERATIONS = 3  # per round; the block is carried over from round to round
CHANCE_TOLERANCE = 0.02  # accuracy(): below 0.5 + this, logistic regression is deemed blind and spreads are tried
DEGENERATE = 1e-6  # a removable direction shorter than this, relative to the classifier, means nothing is left


def project_out(features: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``features (N, D)`` minus their components along the orthonormal columns of ``basis (D, k)``."""
    if basis.shape[1] == 0:
        return features
    if basis.shape[1] == features.shape[1]:  # the whole space: exactly zero, not rounding residue
        return torch.zeros_like(features)
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


class _Standardized:
    """Standardized features ``z (N, D)`` with the directions ``B`` projected out of the raw view, kept projected
    one direction at a time: removing the raw unit vector ``u`` is ``z -= (z (s u)) (u / s)^T``, after which no
    row of ``z`` has a component along ``s u``. ``normals (D, k)``: an orthonormal basis of those ``s u``."""

    def __init__(self, z: torch.Tensor, scale: torch.Tensor):
        self.z, self.scale = z, scale
        self.normals = z.new_zeros(z.shape[1], 0, dtype=torch.float64)

    def remove(self, u: torch.Tensor) -> None:
        u = u.to(self.z)
        self.z -= (self.z @ (self.scale * u))[:, None] * (u / self.scale)[None, :]
        normal = self.scale.double() * u.double()
        for _ in range(2):
            normal = normal - self.normals @ (self.normals.T @ normal)
        self.normals = torch.cat([self.normals, (normal / normal.norm())[:, None]], dim=1)
        if self.normals.shape[1] == self.z.shape[1]:  # nothing left: exactly zero, not rounding residue
            self.z.zero_()

    def outside(self, v: torch.Tensor) -> torch.Tensor:
        """``v (D,)`` or ``(D, m)`` without its components along the normals, where the data no longer varies."""
        normals = self.normals.to(v)
        return v - normals @ (normals.T @ v)


class RealFakeSeparability:
    """How well a linear classifier tells real from generated features, and INLP on them.

    ``real (N, D)`` and ``fake (M, D)`` are split in halves (``generator``
    picks which examples go where): classifiers are trained on one half of each
    and scored on the other, with balanced weights (each class counts half).
    ``penalty``: the L2 strength on the standardized weights, per unit of
    (class-weighted mean) logistic loss; default ``1 / fitting examples``, as
    scikit-learn's ``LogisticRegression(C=1)``.
    """

    def __init__(self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                 penalty: float | None = None, max_iterations: int = MAX_ITERATIONS):
        fit_r, held_r = _halves(real, generator)
        fit_f, held_f = _halves(fake, generator)
        x = torch.cat([fit_r, fit_f]).float()
        self.mean = (fit_r.float().mean(0) + fit_f.float().mean(0)) / 2
        scale = x.std(0, unbiased=False)
        self.scale = scale.clamp_min(max(DEGENERATE * float(scale.max()), 1e-30))
        self.fit_z = (x - self.mean) / self.scale
        self.held_z = (torch.cat([held_r, held_f]).float() - self.mean) / self.scale
        self.fit_sign = _signs(len(fit_r), len(fit_f), x.device)
        self.fit_weight = _balanced(len(fit_r), len(fit_f), x.device)
        self.held_real = torch.arange(len(self.held_z), device=x.device) < len(held_r)
        self.penalty = 1.0 / len(x) if penalty is None else penalty
        self.max_iterations = max_iterations
        self.n_fit_real = len(fit_r)
        self.dim = real.shape[1]

    # -- one classifier ---------------------------------------------------
    def _train(self, z: torch.Tensor, start: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logistic regression on ``z (N, D)``: weights ``(D,)`` and intercept ``()``."""
        w = (torch.zeros(self.dim, device=z.device) if start is None else start[0].clone()).requires_grad_(True)
        b = (torch.zeros((), device=z.device) if start is None else start[1].clone()).requires_grad_(True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.max_iterations, history_size=20, tolerance_grad=1e-6,
                                tolerance_change=1e-9, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            margins = self.fit_sign * (z @ w + b)
            loss = (self.fit_weight * torch.nn.functional.softplus(-margins)).sum() + 0.5 * self.penalty * w.dot(w)
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        return w.detach(), b.detach()

    def _held_out_accuracy(self, held_z: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
        said_real = held_z @ w + b > 0
        real_ok = said_real[self.held_real].float().mean()
        fake_ok = (~said_real[~self.held_real]).float().mean()
        return float((real_ok + fake_ok) / 2)

    def _spread(self, fit: _Standardized, held: torch.Tensor,
                block: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        """The directions (in ``z``) along which the two classes' spreads differ most, each with its best threshold.

        Subspace iteration on ``M = cov_real - cov_fake`` (of ``fit (N, D)``, through products with the data, never
        forming ``M``), started from ``block (D, m)``; every Ritz vector gets the threshold (and side) with the best
        balanced accuracy on ``fit`` and is scored on ``held``. Returns the best held-out accuracy, its direction
        ``(D,)``, and the block to start the next round from."""
        n_real = self.n_fit_real
        real, fake = fit.z[:n_real], fit.z[n_real:]
        real_mean, fake_mean = real.mean(0), fake.mean(0)

        def spread_difference(q: torch.Tensor) -> torch.Tensor:
            # (p^T X)^T rather than X^T p: a skinny transposed product is several times slower on CPU
            return (((real @ q).T @ real).T / len(real) - real_mean[:, None] * (real_mean @ q)
                    - ((fake @ q).T @ fake).T / len(fake) + fake_mean[:, None] * (fake_mean @ q))

        left = self.dim - fit.normals.shape[1]  # no more directions than the complement of the removed span holds
        q = torch.linalg.qr(fit.outside(block[:, :left]))[0]
        for _ in range(SPREAD_ITERATIONS):  # kept off the removed span, where M is only rounding noise
            q = torch.linalg.qr(fit.outside(spread_difference(q)))[0]
        _, ritz = torch.linalg.eigh(q.T @ spread_difference(q))
        directions = q @ ritz  # (D, m), orthonormal
        threshold, side = _best_thresholds(fit.z @ directions, n_real)
        said_real = side * (held @ directions - threshold) > 0  # (N_held, m)
        accuracy = (said_real[self.held_real].float().mean(0) + (~said_real[~self.held_real]).float().mean(0)) / 2
        best = int(accuracy.argmax())
        return float(accuracy[best]), directions[:, best], directions

    def _best(self, fit: _Standardized, held: _Standardized, start, block,
              tolerance: float) -> tuple[float, torch.Tensor, tuple, torch.Tensor]:
        """The best held-out accuracy of a linear classifier on the projected features, and its direction in ``z``.
        Logistic regression first; when that is at chance (it only sees mean differences), a threshold along a
        direction where the spreads differ. Also returns the warm starts for the next round."""
        w, b = self._train(fit.z, start)
        accuracy, direction = self._held_out_accuracy(held.z, w, b), w
        if accuracy <= 0.5 + tolerance and fit.normals.shape[1] < self.dim:
            spread_accuracy, spread_direction, block = self._spread(fit, held.z, block)
            if spread_accuracy > accuracy:
                accuracy, direction = spread_accuracy, spread_direction
        return accuracy, direction, (w, b), block

    def _first_block(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(0)
        return torch.randn(self.dim, min(SPREAD_BLOCK, self.dim), generator=g).to(self.fit_z)

    def _projected(self, basis: torch.Tensor) -> tuple[_Standardized, _Standardized]:
        fit, held = _Standardized(self.fit_z.clone(), self.scale), _Standardized(self.held_z.clone(), self.scale)
        for u in _orthonormal(basis.double()).T:
            fit.remove(u)
            held.remove(u)
        return fit, held

    def accuracy(self, basis: torch.Tensor | None = None) -> float:
        """Best held-out accuracy of a linear classifier on the features with ``basis (D, k)`` projected out."""
        basis = torch.zeros(self.dim, 0) if basis is None else basis
        fit, held = self._projected(basis.to(self.fit_z.device))
        return self._best(fit, held, None, self._first_block(), CHANCE_TOLERANCE)[0]

    # -- INLP -------------------------------------------------------------
    def inlp(self, max_directions: int, tolerance: float) -> InlpFit:
        """Remove classifier directions until held-out accuracy <= 0.5 + ``tolerance``
        (or ``max_directions`` are gone, or the features are used up)."""
        fit, held = self._projected(self.fit_z.new_zeros(self.dim, 0))
        basis = self.fit_z.new_zeros(self.dim, 0, dtype=torch.float64)
        accuracies, start, block = [], None, self._first_block()
        while True:
            accuracy, direction, (w, b), block = self._best(fit, held, start, block, tolerance)
            accuracies.append(accuracy)
            if accuracy <= 0.5 + tolerance or basis.shape[1] >= min(max_directions, self.dim):
                break
            u = self._raw_direction(direction, basis)
            if u is None:
                break
            basis = torch.cat([basis, u[:, None]], dim=1)
            fit.remove(u)
            held.remove(u)
            start = (fit.outside(w), b)
            block = fit.outside(block)
        return InlpFit(basis.float(), accuracies)

    def _raw_direction(self, w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor | None:
        """The unit vector of the view that classifier ``w`` (on standardized features) reads, orthogonal to
        ``basis``; None when (relative to the classifier) nothing is left outside the basis."""
        raw = w.double() / self.scale.double()
        u = raw
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to working precision
            u = u - basis @ (basis.T @ u)
        norm = u.norm()
        if norm <= DEGENERATE * raw.norm():
            return None
        return u / norm


def _signs(n_real: int, n_fake: int, device) -> torch.Tensor:
    return torch.cat([torch.ones(n_real, device=device), -torch.ones(n_fake, device=device)])


def _balanced(n_real: int, n_fake: int, device) -> torch.Tensor:
    return torch.cat([torch.full((n_real,), 0.5 / n_real, device=device),
                      torch.full((n_fake,), 0.5 / n_fake, device=device)])


def _best_thresholds(projections: torch.Tensor, n_real: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each column of ``projections (N, m)`` (the first ``n_real`` rows real): the threshold ``(m,)`` and side
    ``(m,)`` (+1: real above it, -1: real below) with the best balanced accuracy on these same rows."""
    values, order = projections.sort(dim=0)
    is_real = (order < n_real).to(projections)
    n_fake = len(projections) - n_real
    # cutting after row i (predict real above): balanced accuracy of "real above"
    real_below = is_real.cumsum(0) / n_real
    fake_below = (1 - is_real).cumsum(0) / n_fake
    above = (1 - real_below + fake_below) / 2  # (N, m); cut after the last row: 0.5
    flipped = 1 - above
    best_above, cut_above = above.max(0)
    best_flipped, cut_flipped = flipped.max(0)
    use_above = best_above >= best_flipped
    cut = torch.where(use_above, cut_above, cut_flipped)
    upper = values.gather(0, (cut + 1).clamp_max(len(values) - 1)[None])[0]
    lower = values.gather(0, cut[None])[0]
    threshold = torch.where(cut + 1 < len(values), (lower + upper) / 2, lower + 1)
    side = torch.where(use_above, 1.0, -1.0).to(projections)
    return threshold, side


def _orthonormal(basis: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis ``(D, k)`` of the span of ``basis (D, k)`` (only the span matters to a projection)."""
    return torch.linalg.qr(basis)[0] if basis.shape[1] else basis


def _halves(x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(x), generator=generator).to(x.device)
    half = len(x) // 2
    return x[order[:half]], x[order[half:]]
