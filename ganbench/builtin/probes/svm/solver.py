"""One-vs-rest L2-SVM (squared hinge, L2 regularised) solvers used by the ``svm`` probe.

For every class ``k`` (``y_ik = +1`` when example ``i`` is of class ``k``,
``-1`` otherwise) both solvers minimise, on standardized features ``z_i``::

    0.5 * (||w_k||^2 + b_k^2) + C * sum_i max(0, 1 - y_ik * (w_k . z_i + b_k))^2

(With ``standardize=False``, ``z_i`` are the raw features, as in the
DCGAN authors' code.) This is exactly scikit-learn's ``LinearSVC(loss="squared_hinge",
penalty="l2", C=C, fit_intercept=True, intercept_scaling=1)`` objective
(liblinear treats the intercept as one more constant feature, so it is
regularised too), which is why ``C`` means the same thing for both solvers.

:class:`SquaredHingeOvR` (the fast solver):

- The features stay float32 and are never copied or modified, on the CPU or
  on the GPU. Standardization is folded into the weights,
  ``z . w = x . (w / sigma) - mu . (w / sigma)``, so the (N, D) matrix is
  only ever read, by two matrix products per iteration (``X @ P`` for the
  search direction and ``X^T @ R`` for the gradient).
- All K classes are solved at once, as the rows of a (K, D + 1) weight
  matrix (bias last), but each class has its own L-BFGS memory, its own
  exact line search and its own stopping test; a converged class leaves the
  products.
- The line search is exact and costs no pass over the data: along a
  direction ``p`` the margins move linearly (``z + t * X p``), so the 1-d
  objective is a convex piecewise quadratic, minimised by safeguarded Newton
  steps on (N, K) vectors.
- Preconditioning: on network features (thousands of correlated
  dimensions) the curvature ``I + 2C Z^T Z`` has a few huge eigenvalues,
  and plain L-BFGS needs hundreds of iterations. The solver first finds the
  top ``rank`` eigenpairs of ``Z^T Z`` by randomized subspace iteration
  (six passes over the data, once for the whole C grid) and starts every
  L-BFGS recursion from an inverse Hessian that is exact along them
  (:meth:`SquaredHingeOvR._initial_inverse`). On 20,000 x 7,168 random
  ReLU features of MNIST digits, iterations to a 1e-2 gap drop from 106 to
  29 at C = 1e-3 and from 254 to 81 at C = 1e-2 (benchmarks/svm_speed.md).
- The small iterates ((K, D + 1) weights, (K, N) margins) are float64; only
  the data matrix and the products with it are float32.
- A class stops when its relative duality gap ``(P - D) / P`` is at most
  ``tol``: ``P`` is the objective above and ``D`` the dual objective of
  liblinear's L2-loss dual, ``sum a - 0.5 ||sum a_i y_i z_i||^2 -
  sum a^2 / (4C)``, at the dual point ``a_i = 2C max(0, 1 - y_i f(z_i))``
  the weights define. ``P - D`` bounds how far the objective is from its
  minimum; it comes free with the gradient (``sum a_i y_i z_i`` is part of
  it) and, unlike a gradient test relative to ``w = 0`` (liblinear's), it
  stays meaningful when a fit starts warm from the solution at a smaller
  C. A class also stops when a step no longer lowers its objective by more
  than a float64 rounding error (the float32 products' floor).
- At the end of every solve the margins are recomputed from the weights
  (no drift from the incremental updates), the final largest relative gap
  is returned in ``LinearModel.gap``, and a fit that stopped with a gap
  above ``tol`` (iteration limit, or stalled) is logged.
- ``rows`` selects the fitting examples by masking the loss, so a
  validation split carved from the training split costs no copy; the
  standardization statistics come from the fitting rows only.

:class:`SklearnOvR` is the reference: the same objective through
``LinearSVC`` on an explicitly standardized float64 copy.
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

CHUNK_BYTES = 64 * 2**20  # float64 work space per block of rows when reading features in chunks
STALL_GAIN = 1e-12  # a step that lowers a class's objective by less than this fraction ends that class's fit


def as_tensor(features: np.ndarray) -> torch.Tensor:
    """A float32 tensor sharing memory with ``features`` (copied only when not float32 C-contiguous)."""
    array = np.ascontiguousarray(features, dtype=np.float32)
    with warnings.catch_warnings():  # read-only arrays (memory maps) are fine: nothing here writes to them
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def row_blocks(x: torch.Tensor, rows: torch.Tensor | None = None, device=None) -> Iterator[torch.Tensor]:
    """Blocks of rows of ``x`` (all rows, or ``rows``), each small enough for float64 work space."""
    per_block = max(1, CHUNK_BYTES // (8 * max(1, x.shape[1])))
    n = len(x) if rows is None else len(rows)
    for start in range(0, n, per_block):
        if rows is None:
            block = x[start : start + per_block]
        else:
            block = x[rows[start : start + per_block].to(x.device)]
        yield block.to(device) if device is not None else block


def thin_times(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``r @ x`` for a thin (k, N) ``r`` and a large (N, D) ``x``.

    On the CPU this goes through numpy's BLAS (OpenBLAS), faster than torch's
    for this shape (1.4x at 60,000 x 784, 2x at 20,000 x 28,672 on two
    cores: benchmarks/svm_speed.md §4); both share memory with the tensors,
    nothing large is copied.
    """
    if x.device.type != "cpu":
        return r @ x
    return torch.from_numpy(r.contiguous().numpy() @ x.numpy())


@dataclass
class Standardizer:
    """Per-feature mean and scale (the standard deviation; 1 for constant features)."""

    mean: torch.Tensor  # (D,) float64
    scale: torch.Tensor  # (D,) float64

    @classmethod
    def fit(cls, x: torch.Tensor, rows: torch.Tensor | None = None) -> "Standardizer":
        """Statistics of ``x[rows]``: two passes over row blocks, float64 sums, no full copy."""
        n = len(x) if rows is None else len(rows)
        total = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
        for block in row_blocks(x, rows):
            total += block.sum(0, dtype=torch.float64)
        mean = total / n
        mean32 = mean.float()  # centring in float32 loses only (mean - mean32)^2 ~ 1e-14 mean^2 of variance
        squares = torch.zeros_like(mean)
        for block in row_blocks(x, rows):
            squares += (block - mean32).square_().sum(0, dtype=torch.float64)
        std = (squares / n).sqrt_()
        # A feature whose spread is below float32 resolution of its value is constant: scale 1, like scikit-learn.
        constant = std <= 1e-6 * mean.abs()
        return cls(mean, torch.where(constant, torch.ones_like(std), std))

    @classmethod
    def identity(cls, dim: int, device=None) -> "Standardizer":
        """No standardization: the classifier sees the raw features (mean 0, scale 1)."""
        return cls(torch.zeros(dim, dtype=torch.float64, device=device),
                   torch.ones(dim, dtype=torch.float64, device=device))

    @classmethod
    def choose(cls, x: torch.Tensor, rows: torch.Tensor | None, standardize: bool) -> "Standardizer":
        return cls.fit(x, rows) if standardize else cls.identity(x.shape[1], x.device)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Explicitly standardized float64 copy (for the reference solver and tests)."""
        return (x.double().to(self.mean.device) - self.mean) / self.scale


@dataclass
class LinearModel:
    """K one-vs-rest linear classifiers in standardized space, with their standardization."""

    weight: torch.Tensor  # (K, D) float64, one row per class (scikit-learn's coef_ layout)
    bias: torch.Tensor  # (K,) float64
    stats: Standardizer
    c: float
    iterations: int = 0
    gap: float | None = None  # largest relative duality gap over the classes at the end of the fit (torch solver)

    def raw_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, offset)`` with ``scores = x @ u.T + offset`` on raw (unstandardized) features."""
        u = self.weight / self.stats.scale
        return u, self.bias - u @ self.stats.mean

    def scores(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(n, K) float64 decision values of ``x`` (or ``x[rows]``), read in chunks, on the model's device."""
        u, offset = self.raw_weights()
        u32 = u.float()
        out = [(block @ u32.T).double() + offset for block in row_blocks(x, rows, device=u.device)]
        return torch.cat(out) if out else torch.zeros(0, len(u), dtype=torch.float64, device=u.device)

    def predict(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(n,) int64 class of each row of ``x`` (or ``x[rows]``), on the CPU."""
        return self.scores(x, rows).argmax(1).cpu()

    def accuracy(self, x: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor | None = None) -> float:
        predicted = self.predict(x, rows)
        truth = labels if rows is None else labels[rows.cpu()]
        return float((predicted == truth.cpu()).double().mean())


@dataclass
class Spectrum:
    """Approximate top eigenpairs of the standardized Gram matrix ``Z^T Z`` (the SVM's curvature)."""

    values: torch.Tensor  # (r,) float64, descending
    vectors: torch.Tensor  # (D, r) float64, orthonormal columns
    n_rows: int  # rows of Z (the eigenvalues grow with it)

    def outside(self, w: torch.Tensor) -> torch.Tensor:
        """The part of the rows of (K, D) ``w`` orthogonal to every kept eigenvector."""
        return w - (w @ self.vectors) @ self.vectors.T

    @classmethod
    def top(cls, gram_times: Callable[[torch.Tensor], torch.Tensor], dim: int, n_rows: int, rank: int, device,
            power_iterations: int = 2, oversample: int = 10, seed: int = 0) -> "Spectrum":
        """Randomized subspace iteration (Halko, Martinsson, Tropp 2011, alg. 4.4 with Rayleigh-Ritz):
        ``power_iterations + 1`` products with ``Z^T Z`` of width ``rank + oversample``.
        With ``rank + oversample >= dim`` the subspace is the whole space and the pairs are exact."""
        width = min(rank + oversample, dim)
        if width == dim:
            basis = torch.eye(dim, dtype=torch.float64, device=device)
        else:
            generator = torch.Generator(device="cpu").manual_seed(seed)
            start = torch.randn(dim, width, generator=generator, dtype=torch.float64).to(device)
            basis = torch.linalg.qr(start).Q
            for _ in range(power_iterations):
                basis = torch.linalg.qr(gram_times(basis)).Q
        projected = basis.T @ gram_times(basis)
        values, rotation = torch.linalg.eigh(0.5 * (projected + projected.T))
        keep = torch.arange(len(values) - 1, len(values) - 1 - min(rank, width), -1, device=values.device)
        return cls(values[keep].clamp_min(0), basis @ rotation[:, keep], n_rows)


def one_vs_rest_targets(labels: torch.Tensor, num_classes: int, device) -> torch.Tensor:
    """(K, N) float64 matrix: +1 in the row of the example's class, -1 in every other row."""
    y = -torch.ones(num_classes, len(labels), dtype=torch.float64, device=device)
    y[labels.to(device), torch.arange(len(labels), device=device)] = 1.0
    return y


def objective(model: LinearModel, z: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Per-class primal objective of ``model`` on explicitly standardized float64 features ``z``."""
    y = one_vs_rest_targets(labels, len(model.weight), z.device)
    margins = y * (model.weight.to(z.device) @ z.T + model.bias.to(z.device)[:, None])
    loss = (1 - margins).clamp_min(0).square().sum(1)
    reg = 0.5 * (model.weight.square().sum(1) + model.bias.square()).to(z.device)
    return (reg + model.c * loss).cpu().numpy()


class SquaredHingeOvR:
    """Fast float32 solver; ``solve(c)`` warm-starts from the previous solution (see module docstring).

    Everything per class is a row: weights ``theta`` (K, D + 1) with the bias
    last, targets and margins (K, N), so per-class reductions run along
    contiguous memory.
    """

    def __init__(self, x: torch.Tensor, labels: torch.Tensor, num_classes: int, rows: torch.Tensor | None = None,
                 tol: float = 1e-4, max_iter: int = 1000, memory: int = 30, init: LinearModel | None = None,
                 rank: int = 100, spectrum: "Spectrum | None" = None, log: Callable[[str], None] | None = None,
                 standardize: bool = True):
        self.x = x
        self.device = x.device
        self.tol, self.max_iter, self.memory = tol, max_iter, memory
        self.log = log or (lambda message: None)
        self.y = one_vs_rest_targets(labels, num_classes, self.device)
        self.fitting = torch.ones(len(x), dtype=torch.bool, device=self.device)
        if rows is not None:
            self.fitting.zero_()[rows.to(self.device)] = True
        self.stats = Standardizer.choose(x, rows, standardize)
        self.dim = x.shape[1]
        self.theta = torch.zeros(num_classes, self.dim + 1, dtype=torch.float64, device=self.device)
        self.margins = torch.zeros(num_classes, len(x), dtype=torch.float64, device=self.device)
        if init is not None:  # warm start from another fit (e.g. on a subset): one pass for its margins
            self.theta[:, : self.dim] = init.weight.to(self.device)
            self.theta[:, self.dim] = init.bias.to(self.device)
            self.margins = self._scores(self.theta)
        self._data_grad = None  # (K, D + 1) loss gradient / 2C at theta: reused when only C changes
        self.n_fit = int(self.fitting.sum())
        if spectrum is None and rank:
            started = time.perf_counter()
            spectrum = Spectrum.top(self._gram_times, self.dim, self.n_fit, rank, self.device)
            self.log(f"svm: top {len(spectrum.values)} eigenpairs of the Gram matrix (preconditioner) "
                     f"in {time.perf_counter() - started:.1f} s")
        self.spectrum = spectrum if rank else None  # any approximate spectrum (e.g. of a subset) is a valid start

    # -- the only two products with the data --

    def _scores(self, direction: torch.Tensor) -> torch.Tensor:
        """(k, N) float64 ``p_w . z_i + p_b`` for (k, D + 1) ``direction``, standardization folded in."""
        u = direction[:, : self.dim] / self.stats.scale
        offset = direction[:, self.dim] - u @ self.stats.mean
        # (N, D) @ (D, k): 1.3x faster than (u @ X.T).T at 28,672 dims, where the time goes (0.8x at 784)
        return (self.x @ u.float().T).T.contiguous().double() + offset[:, None]

    def _transposed(self, residual: torch.Tensor) -> torch.Tensor:
        """(k, D + 1) ``[r . z ; sum r]`` for (k, N) float64 ``residual``."""
        sums = residual.sum(1, keepdim=True)
        top = (thin_times(residual.float(), self.x).double() - sums * self.stats.mean) / self.stats.scale
        return torch.cat([top, sums], dim=1)

    def _gram_times(self, q: torch.Tensor) -> torch.Tensor:
        """(D, l) ``Z^T Z q`` over the fitting rows for (D, l) float64 ``q``: two passes over the data."""
        direction = torch.cat([q.T, torch.zeros(q.shape[1], 1, dtype=q.dtype, device=q.device)], dim=1)
        return self._transposed(self._scores(direction).mul_(self.fitting))[:, : self.dim].T

    def _residual(self, cols: torch.Tensor) -> torch.Tensor:
        """Half the loss gradient with respect to the margins, ``-y * max(0, 1 - y * margin)``, fitting rows only."""
        y = self.y[cols]
        slack = (1 - y * self.margins[cols]).clamp_min_(0).mul_(self.fitting)
        return slack.mul_(-y)

    # -- the solver --

    def solve(self, c: float) -> LinearModel:
        """Minimise the objective at ``c``, starting from the current weights."""
        k = len(self.theta)
        every_class = torch.arange(k, device=self.device)
        if self._data_grad is None:
            self._data_grad = self._transposed(self._residual(every_class))
        grad = self.theta + 2 * c * self._data_grad
        history: deque = deque(maxlen=self.memory)
        gamma = None  # (K,) inverse curvature outside the top eigenvectors, from the latest curvature pair
        stalled = torch.zeros(k, dtype=torch.bool, device=self.device)
        iteration, fresh = 0, True  # fresh: the margins were computed from the weights, not updated incrementally
        while True:
            gap = self.relative_gap(c)
            active = (gap > self.tol) & ~stalled
            if not active.any() and not fresh:
                # The margins were updated incrementally (margins += t * X p) and drift by float32 rounding:
                # confirm convergence on margins recomputed from the weights, else go on from there.
                self._recompute_margins(every_class)
                grad = self.theta + 2 * c * self._data_grad
                fresh = True
                continue
            if not active.any() or iteration == self.max_iter:
                break
            cols = active.nonzero().squeeze(1)
            direction = self._direction(grad, history, self._initial_inverse(c, gamma))[cols]
            direction_scores = self._scores(direction)
            step, gain = self._line_search(c, cols, direction, direction_scores)
            # float32 products bound how small the gradient can get: a class whose objective no longer
            # moves in float64 terms has converged as far as its data allows.
            stalled[cols] = gain <= STALL_GAIN
            step = step[:, None]
            self.theta[cols] += step * direction
            self.margins[cols] += step * direction_scores
            self._data_grad[cols] = self._transposed(self._residual(cols))
            new_grad = self.theta + 2 * c * self._data_grad
            gamma = self._remember(history, gamma, cols, step * direction, new_grad[cols] - grad[cols])
            grad = new_grad
            iteration, fresh = iteration + 1, False
        if not fresh:  # stopped at max_iter: the returned gap is the true one, and the next warm start starts clean
            self._recompute_margins(every_class)
            gap = self.relative_gap(c)
        short = gap > self.tol
        if short.any():
            why = f"max_iter={self.max_iter}" if iteration == self.max_iter else "no further progress in float32"
            self.log(f"svm: C={c:g} stopped short ({why}) for classes {short.nonzero().squeeze(1).tolist()}: "
                     f"relative duality gap {float(gap.max()):.1e} > tol {self.tol:g}")
        return LinearModel(self.theta[:, : self.dim].clone(), self.theta[:, self.dim].clone(), self.stats, c, iteration,
                           gap=float(gap.max()))

    def _recompute_margins(self, every_class: torch.Tensor) -> None:
        """Margins and the data gradient from the weights (one pass over the data)."""
        self.margins = self._scores(self.theta)
        self._data_grad = self._transposed(self._residual(every_class))

    def relative_gap(self, c: float) -> torch.Tensor:
        """(K,) ``(primal - dual) / primal`` at the current weights (no pass over the data)."""
        slack = (1 - self.y * self.margins).clamp_min_(0).mul_(self.fitting)
        dual_weights = -2 * c * self._data_grad  # sum_i a_i y_i [z_i, 1]
        primal = 0.5 * self.theta.square().sum(1) + c * slack.square().sum(1)
        dual = 2 * c * slack.sum(1) - 0.5 * dual_weights.square().sum(1) - c * slack.square().sum(1)
        return (primal - dual) / primal

    def _initial_inverse(self, c: float, gamma: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
        """The L-BFGS starting inverse Hessian ``H0`` of every class, as a function of (K, D + 1) ``q``.

        The Hessian of a class is ``I + 2C Z_A^T Z_A`` over its active rows
        ``A`` (positive slack), and a column of 1s for the bias. Its large
        eigenvalues, which make plain L-BFGS slow on correlated features, are
        taken from the top eigenpairs of ``Z^T Z`` over all fitting rows,
        scaled by the class's active fraction; the rest of the space gets
        ``gamma`` (the usual L-BFGS scaling, measured outside those
        eigenvectors); the bias ``1 / (1 + 2C |A|)`` (standardized columns
        sum to zero, so the bias is decoupled). Any positive definite ``H0``
        keeps L-BFGS correct; a good one only makes it faster.
        """
        slack = (1 - self.y * self.margins).mul_(self.fitting)
        active = (slack > 0).sum(1).double()  # (K,)
        bias_scale = 1.0 / (1.0 + 2 * c * active)
        gamma = torch.full_like(active, float("nan")) if gamma is None else gamma
        if self.spectrum is None:
            rest = torch.nan_to_num(gamma, nan=1.0)
            return lambda q: torch.cat([q[:, : self.dim] * rest[:, None], q[:, self.dim :] * bias_scale[:, None]], 1)
        active_fraction = (active / self.spectrum.n_rows)[:, None]
        top_scale = 1.0 / (1.0 + 2 * c * active_fraction * self.spectrum.values)  # (K, r)
        # Before its first curvature pair, a class's rest of the space gets the smallest eigenvalue kept (a bound).
        rest = torch.where(torch.isnan(gamma), top_scale[:, -1], gamma)
        vectors = self.spectrum.vectors

        def apply(q: torch.Tensor) -> torch.Tensor:
            w = q[:, : self.dim]
            w = self.spectrum.outside(w) * rest[:, None] + ((w @ vectors) * top_scale) @ vectors.T
            return torch.cat([w, q[:, self.dim :] * bias_scale[:, None]], 1)

        return apply

    def _direction(self, grad: torch.Tensor, history: deque, initial_inverse) -> torch.Tensor:
        """L-BFGS two-loop recursion, class by class; ``-H0 grad`` where it is not a descent direction."""
        q = grad.clone()
        alphas = []
        for s, y, rho in reversed(history):
            alpha = rho * (s * q).sum(1)
            q -= alpha[:, None] * y
            alphas.append(alpha)
        q = initial_inverse(q)
        for (s, y, rho), alpha in zip(history, reversed(alphas)):
            beta = rho * (y * q).sum(1)
            q += (alpha - beta)[:, None] * s
        direction = q.neg_()
        uphill = (direction * grad).sum(1) >= 0
        if uphill.any():
            direction[uphill] = -initial_inverse(grad)[uphill]
        return direction

    def _remember(self, history: deque, gamma, cols, s_cols, y_cols) -> torch.Tensor:
        """Store the curvature pair of the updated classes (rho = 0, i.e. no effect, elsewhere or when s.y <= 0);
        return the updated ``gamma``: ``s.y / y.y`` outside the top eigenvectors, per class."""
        s = torch.zeros_like(self.theta)
        y = torch.zeros_like(self.theta)
        s[cols], y[cols] = s_cols, y_cols
        sy = (s * y).sum(1)
        good = sy > 1e-12 * s.norm(dim=1) * y.norm(dim=1)
        rho = torch.where(good, 1.0 / torch.where(good, sy, torch.ones_like(sy)), torch.zeros_like(sy))
        history.append((s, y, rho))
        s_rest, y_rest = s[:, : self.dim], y[:, : self.dim]
        if self.spectrum is not None:
            s_rest, y_rest = self.spectrum.outside(s_rest), self.spectrum.outside(y_rest)
        sy_rest, yy_rest = (s_rest * y_rest).sum(1), (y_rest * y_rest).sum(1)
        measured = good & (sy_rest > 0) & (yy_rest > 0)
        # NaN: not measured yet (the default scale applies); a class without a usable pair keeps its scale
        gamma = torch.full_like(sy, float("nan")) if gamma is None else gamma.clone()
        gamma[measured] = sy_rest[measured] / yy_rest[measured]
        return gamma

    def _line_search(self, c: float, cols, direction: torch.Tensor, direction_scores: torch.Tensor):
        """``(t, gain)`` per class: the exact minimiser ``t >= 0`` of the objective along ``direction``
        (safeguarded Newton) and the relative decrease of the objective it brings.

        Along the direction every margin moves linearly, so the 1-d objective is
        a convex piecewise quadratic whose slope is cheap to evaluate from
        (k, N) vectors: no pass over the features.
        """
        y = self.y[cols]
        moved = y * direction_scores  # margin gained per unit step
        slack = (1 - y * self.margins[cols]).masked_fill_(~self.fitting, -float("inf"))  # held-out rows never count
        moved_squared = moved.square()
        along = (self.theta[cols] * direction).sum(1)
        curvature = direction.square().sum(1)

        def slope_and_second(step):
            violation = torch.addcmul(slack, step[:, None], moved, value=-1).clamp_min_(0)
            slope = along + step * curvature - 2 * c * (moved * violation).sum(1)
            return slope, curvature + 2 * c * (moved_squared * (violation > 0)).sum(1)

        step = torch.zeros_like(along)
        slope, second = slope_and_second(step)
        start_slope = slope.abs()
        low, high = torch.zeros_like(along), torch.full_like(along, float("inf"))
        for _ in range(50):
            newton = step - slope / second
            inside = (newton > low) & (newton < high)
            step = torch.where(inside, newton, torch.where(torch.isinf(high), 2 * newton, (low + high) / 2))
            slope, second = slope_and_second(step)
            low = torch.where(slope < 0, step, low)
            high = torch.where(slope > 0, step, high)
            if ((slope.abs() <= 1e-10 * start_slope) | (high - low <= 1e-12 * step)).all():
                break
        start_loss = slack.clamp_min(0).square().sum(1)
        end_loss = torch.addcmul(slack, step[:, None], moved, value=-1).clamp_min_(0).square_().sum(1)
        start = 0.5 * self.theta[cols].square().sum(1) + c * start_loss
        decrease = -(step * along + 0.5 * step.square() * curvature + c * (end_loss - start_loss))
        return step, decrease / start


class SklearnOvR:
    """Reference solver: scikit-learn ``LinearSVC`` (liblinear) at the same C, on a standardized float64 copy."""

    spectrum = None  # no preconditioner to hand on to a refit

    def __init__(self, x: torch.Tensor, labels: torch.Tensor, num_classes: int, rows: torch.Tensor | None = None,
                 tol: float = 1e-4, max_iter: int = 1000, log: Callable[[str], None] | None = None,
                 standardize: bool = True, **_ignored):
        self.stats = Standardizer.choose(x, rows, standardize)
        self.z = torch.cat([self.stats.transform(block) for block in row_blocks(x, rows)]).numpy()
        self.labels = (labels if rows is None else labels[rows]).numpy()
        self.num_classes = num_classes
        self.tol, self.max_iter = tol, max_iter
        self.log = log or (lambda message: None)

    def solve(self, c: float) -> LinearModel:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=c, loss="squared_hinge", penalty="l2", dual="auto", tol=self.tol,
                        max_iter=self.max_iter, fit_intercept=True, intercept_scaling=1.0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(self.z, self.labels)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            self.log(f"svm: LinearSVC did not converge at C={c:g} within max_iter={self.max_iter}")
        weight, bias = self._all_classes(clf)
        iterations = int(np.max(clf.n_iter_))
        return LinearModel(torch.from_numpy(weight), torch.from_numpy(bias), self.stats, c, iterations)

    def _all_classes(self, clf) -> tuple[np.ndarray, np.ndarray]:
        """(K, D) weights and (K,) biases; absent classes never win (-inf bias); binary -> [-w, w]."""
        coef, intercept = clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)
        if len(clf.classes_) == 2:  # liblinear fits one classifier; one-vs-rest of two classes is [-w, w]
            coef, intercept = np.concatenate([-coef, coef]), np.concatenate([-intercept, intercept])
        weight = np.zeros((self.num_classes, coef.shape[1]))
        bias = np.full(self.num_classes, -np.inf)
        weight[clf.classes_] = coef
        bias[clf.classes_] = intercept
        return weight, bias


SOLVERS = {"torch": SquaredHingeOvR, "sklearn": SklearnOvR}
