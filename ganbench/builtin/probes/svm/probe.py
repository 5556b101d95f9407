"""``svm``: the L2-SVM probe of DCGAN (§5.1, §5.2) and ALI.

Protocol, on the features of the current view:

- Classifier: one-vs-rest linear SVM with the squared hinge loss and an L2
  penalty (an "L2-SVM"), the class with the highest decision value wins. The
  objective, per class, is scikit-learn's ``LinearSVC`` one:
  ``0.5 * ||(w, b)||^2 + C * sum_i max(0, 1 - y_i (w . z_i + b))^2``
  (see :mod:`ganbench.builtin.probes.svm.solver`).
- Raw features by default (``standardize=false``), as the DCGAN authors'
  code fits them: the protocol the paper's 82.8 % stands on, and the
  headline of every table. ``standardize=true`` (Coates, Lee & Ng 2011's
  protocol, which their K-means figures need) centres and scales every
  feature by the mean and standard deviation of the examples the
  classifier is fitted on, never of validation or test examples; the
  leaderboard shows such rows apart, labelled with the setting, and never
  marks them best.
- Choosing C: a validation split is carved from the training split (never
  the test split); C is walked up the grid ``c_grid`` (default
  1e-5, 1e-4, ..., 1), each fit converged to ``select_tol`` (validation
  accuracy settles long before the weights do; the final fit uses ``tol``).
  The chosen C has the best validation accuracy among the values tried,
  ties to the smaller C: the papers' rule (DCGAN §5.2, ALI).
- Warm starts: each C's fit starts from the previous C's weights (the
  torch solver; the refit from the chosen C's). This changes the
  iterations, not the result: the objective is strictly convex (the L2
  penalty), so its minimiser at each C is unique whatever the start, and
  every fit stops at the same relative duality gap, which bounds how far
  the objective is from that minimum from any starting point.
- Early stop (``stop_after_falls=N``, default 2, version 3): the walk ends
  once validation accuracy has fallen at N consecutive grid values, each
  strictly below the one before (larger C over-fits; past its best C the
  accuracy keeps falling, and the fits get slower as C grows: on
  CIFAR-10's 50,000 x 7,168 ``random-d`` features, C = 1 alone took 385 s
  after three falls). Two falls in a row on the 10,000 validation
  examples, each below the last, are the over-fitting side of the path;
  a larger N only buys the costliest fits. The chosen C, hence every figure, is the whole
  walk's unless accuracy climbs back above its best after N falls in a
  row; ``stop_after_falls=0`` walks the whole grid. ``benchmarks/svm_path.md``
  measures both walks on CIFAR-10. The details record the C values
  evaluated (``c_evaluated``) and why the walk stopped (``walk_stopped``:
  ``end of grid`` or the rule and the Cs that fell).
  Options: ``selection=one-se``, the smallest C within one binomial
  standard error of the best (ESL §7.10), and ``grid_patience=N``, which
  stops the walk once N values in a row have not beaten the best by more
  than that standard error. Every C tried with its validation accuracy,
  the chosen C and the final fit's largest relative duality gap
  (``max_duality_gap``) are in the metric's details.
- All labels (``labels_per_class=0``): the validation split has
  ``val_size`` examples (10,000 as in DCGAN §5.2, at most a sixth of the
  training split), stratified by class. With the chosen C the classifier is
  refitted on the whole training split (fit + validation, warm-started,
  statistics recomputed): the validation examples have only served to pick
  C, and more labelled data can only help the final figure.
- Label budget (``labels_per_class=N``, DCGAN §5.2 / ALI): the validation
  split (as above, fixed for all draws) is set aside first; each of the
  ``repeats`` draws then takes N examples per class from the remaining
  training examples (``label_budget(..., draw=r)``), chooses C on the
  validation split and is scored with the classifier fitted on its N * K
  examples only (no refit on the validation examples, whose labels only
  choose C, as in DCGAN §5.2: the fit at the chosen C is just continued to
  ``tol``). The value is the mean
  test accuracy over draws and ``stderr`` its standard error
  (std with ddof=1 / sqrt(repeats)); ``details`` hold the per-draw
  accuracies and chosen Cs and the std (ALI reports mean +- std).
- Label budget with one C (``select_draws=S``, the DCGAN authors'
  ``svhn_semisup_analysis.py``): C is chosen once, on the mean validation
  accuracy over S label draws (draw indices ``SELECT_DRAW_OFFSET + s``,
  apart from the test draws), every C of the grid fitted for each; then
  each of the ``repeats`` test draws is fitted at that C. The authors'
  setting: ``labels_per_class=100 select_draws=10 repeats=100
  standardize=false``.
- The test split is read once, after every classifier is final.

Metrics: ``acc`` and ``err`` (test error, lower is better), with the label
budget ``acc_<N*K>labels`` and ``err_<N*K>labels`` (``acc_1000labels`` for
100 labels per class on 10 classes, the papers' setting).

Solvers (option ``solver``): ``torch`` (default), a float32 L-BFGS solver
that never copies or modifies the features and runs on the run's device;
``sklearn``, scikit-learn's ``LinearSVC`` at the same C, as a reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ganbench.builtin.probes.svm import C_GRID, OPTIONS  # noqa: F401  (re-exported)
from ganbench.api.options import Option
from ganbench.api.probe import Metric, Probe, ProbeContext
from ganbench.api.splits import check_label_budget, label_budget, per_class_counts, validation_split
from ganbench.builtin.probes.svm.solver import SOLVERS, LinearModel, as_tensor

SELECT_DRAW_OFFSET = 1_000_000  # draw indices of the C-selection draws: apart from the test draws 0, 1, ...


def validation_size(n_train: int, val_size: int) -> int:
    """``val_size`` capped at a sixth of the training split (and at least one example)."""
    return max(1, min(val_size, n_train // 6))


def budget_draws(train_labels: np.ndarray, per_class: int, repeats: int, seed: int, val_size: int):
    """``(val, [labelled indices of draw r for r in range(repeats)])``: val first, draws exclude it."""
    _, val = validation_split(train_labels, size=validation_size(len(train_labels), val_size), seed=seed)
    draws = [label_budget(train_labels, per_class, seed=seed, draw=r, exclude=val) for r in range(repeats)]
    return val, draws


@dataclass
class Selection:
    """The outcome of walking the C grid: the model at the chosen C and every validation accuracy."""

    model: LinearModel
    val_acc: dict[float, float]
    gaps: dict[float, float | None]
    stopped: str = "end of grid"  # why the walk stopped: the grid's end, or the stopping rule that ended it

    @property
    def evaluated(self) -> list[float]:
        """The C values fitted, in the order tried (ascending)."""
        return list(self.val_acc)

    @property
    def c(self) -> float:
        return self.model.c


def accuracy_stderr(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on ``n`` examples."""
    return float(np.sqrt(max(accuracy * (1 - accuracy), 0.0) / max(n, 1)))


def best_choice(val_acc: dict[float, float]) -> float:
    """The C of the best validation accuracy, ties to the smaller C (DCGAN §5.2, ALI)."""
    best = max(val_acc.values())
    return min(c for c, acc in val_acc.items() if acc == best)


def one_standard_error_choice(val_acc: dict[float, float], n_val: int) -> float:
    """The smallest C whose validation accuracy is within one standard error of the best (ESL §7.10)."""
    best = max(val_acc.values())
    return min(c for c, acc in val_acc.items() if acc >= best - accuracy_stderr(best, n_val))


def choose_c(val_acc: dict[float, float], n_val: int, rule: str = "best") -> float:
    """C chosen from ``{C: validation accuracy}`` by ``rule`` (``best`` or ``one-se``)."""
    return best_choice(val_acc) if rule == "best" else one_standard_error_choice(val_acc, n_val)


class WalkStop:
    """When to stop walking up the C grid (both rules may be on; 0 turns a rule off).

    - ``falls``: once validation accuracy has fallen at ``falls`` consecutive
      values, each strictly below the one before (the probe's
      ``stop_after_falls``, default 2);
    - ``patience``: once ``patience`` values in a row have not beaten the best
      accuracy by more than its binomial standard error (``grid_patience``).
    """

    def __init__(self, patience: int, falls: int, n_val: int):
        self.patience, self.falls, self.n_val = patience, falls, n_val
        self.best = self.previous = None
        self.without_gain = self.fallen = 0
        self.falling: list[float] = []

    def after(self, c: float, accuracy: float) -> str | None:
        """Record C's validation accuracy; the reason to stop here, or None to go on."""
        self.fallen = self.fallen + 1 if self.previous is not None and accuracy < self.previous else 0
        self.falling = self.falling + [c] if self.fallen else []
        self.previous = accuracy
        if self.best is None or accuracy > self.best + accuracy_stderr(self.best, self.n_val):
            self.best, self.without_gain = accuracy, 0
        else:
            self.best, self.without_gain = max(self.best, accuracy), self.without_gain + 1
        if self.falls and self.fallen >= self.falls:
            return (f"stop_after_falls={self.falls}: validation accuracy fell at {self.fallen} consecutive values "
                    f"(C = {', '.join(f'{v:g}' for v in self.falling)})")
        if self.patience and self.without_gain >= self.patience:
            return (f"grid_patience={self.patience}: {self.without_gain} values without a gain beyond one "
                    f"standard error")
        return None


def walk_c_grid(solver, c_grid, patience: int, val_accuracy, n_val: int, log, rule: str = "best",
                falls: int = 0) -> Selection:
    """Fit at increasing C (warm-started) and choose C by ``rule`` among the values tried.

    The walk stops early by :class:`WalkStop` (``patience``, ``falls``; both 0
    walk the whole grid). Stopping after ``falls`` consecutive falls leaves the
    chosen C (and so every figure) as the whole walk's unless validation
    accuracy, after falling at that many values in a row, climbs back above
    its best further up the grid: over-fitting past the best C is where
    accuracy falls, and it only falls further as C grows."""
    models, val_acc, stop, stopped = {}, {}, WalkStop(patience, falls, n_val), None
    for c in sorted(set(c_grid)):
        started = time.perf_counter()
        models[c] = solver.solve(c)
        val_acc[c] = val_accuracy(models[c])
        log(f"svm: C={c:g} validation accuracy {val_acc[c]:.4f} ({models[c].iterations} iterations, "
            f"{time.perf_counter() - started:.1f} s)")
        stopped = stop.after(c, val_acc[c])
        if stopped is not None:
            skipped = [v for v in sorted(set(c_grid)) if v > c]
            if skipped:
                log(f"svm: {stopped}; C = {', '.join(f'{v:g}' for v in skipped)} not tried")
                break
            stopped = None  # the last value anyway: the grid ended
    gaps = {c: model.gap for c, model in models.items()}
    return Selection(models[choose_c(val_acc, n_val, rule)], val_acc, gaps, stopped or "end of grid")


def standard_error(values) -> float | None:
    """std (ddof=1) / sqrt(n) of the per-draw figures; None for a single draw."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None


class SVM(Probe):
    def _solver(self, ctx, x, labels, rows=None, init=None, final=False, spectrum=None):
        o = self.options
        return SOLVERS[o["solver"]](x, labels, ctx.dataset.num_classes, rows=rows, init=init, log=ctx.log,
                                    tol=o["tol"] if final else o["select_tol"], max_iter=o["max_iter"],
                                    rank=o["precondition_rank"], spectrum=spectrum, standardize=o["standardize"])

    def _device(self, ctx: ProbeContext) -> torch.device:
        return ctx.device if self.options["solver"] == "torch" else torch.device("cpu")

    def check(self, info) -> None:
        """A label budget every class can meet once the validation split is carved out (before training)."""
        per_class = self.options["labels_per_class"]
        counts = np.asarray(info.train_class_counts, dtype=np.int64)
        if per_class == 0 or counts.sum() == 0:
            return
        present = counts > 0
        n_val = validation_size(int(counts.sum()), self.options["val_size"])
        available = counts.copy()
        available[present] -= per_class_counts(counts[present], n_val)
        check_label_budget("svm", per_class, available, info.name,
                           after=f" left once the validation split ({n_val} examples) is carved out")

    def _walk(self, ctx, solver, x, labels, val) -> Selection:
        o = self.options
        return walk_c_grid(solver, o["c_grid"], o["grid_patience"], lambda model: model.accuracy(x, labels, val),
                           len(val), ctx.log, o["selection"], falls=o["stop_after_falls"])

    def _common_details(self, x: torch.Tensor) -> dict:
        o = self.options
        return {"c_grid": list(o["c_grid"]), "selection": o["selection"], "grid_patience": o["grid_patience"],
                "stop_after_falls": o["stop_after_falls"], "standardize": o["standardize"], "dim": int(x.shape[1]),
                "solver": o["solver"]}

    def run(self, ctx: ProbeContext) -> list[Metric]:
        train_x, train_y = ctx.features("train")
        x = as_tensor(train_x).to(self._device(ctx))
        labels = torch.from_numpy(np.asarray(train_y, dtype=np.int64))
        if self.options["labels_per_class"] == 0:
            return self._all_labels(ctx, x, labels)
        if self.options["select_draws"] > 0:
            return self._label_budget_one_c(ctx, x, labels)
        return self._label_budget(ctx, x, labels)

    def _all_labels(self, ctx: ProbeContext, x: torch.Tensor, labels: torch.Tensor) -> list[Metric]:
        o = self.options
        fit, val = validation_split(labels.numpy(), size=validation_size(len(labels), o["val_size"]), seed=ctx.seed)
        fit, val = torch.from_numpy(fit), torch.from_numpy(val)
        selecting = self._solver(ctx, x, labels, rows=fit)
        selection = self._walk(ctx, selecting, x, labels, val)
        ctx.log(f"svm: refitting on all {len(labels)} training examples at C={selection.c:g}")
        # the fitting rows' spectrum preconditions the refit well enough: no second eigen-decomposition
        final = self._solver(ctx, x, labels, init=selection.model, final=True,
                             spectrum=selecting.spectrum).solve(selection.c)
        accuracy, n_test, predicted = self._test_accuracies(ctx, [final])
        details = {"c": selection.c, "val_acc": _by_c(selection.val_acc), **self._common_details(x),
                   "n_fit": len(fit), "n_val": len(val), "refit": "fit+val", "iterations": final.iterations,
                   "max_duality_gap": final.gap, "selection_gaps": _by_c(selection.gaps),
                   "c_evaluated": selection.evaluated, "walk_stopped": selection.stopped,
                   **_edge_details(ctx, [selection.c], o["c_grid"])}
        return _metrics("", accuracy[0], None, len(labels), n_test, None, details, predicted)

    def _label_budget(self, ctx: ProbeContext, x: torch.Tensor, labels: torch.Tensor) -> list[Metric]:
        """Each test draw chooses its own C on the validation split."""
        o = self.options
        val, draws = budget_draws(labels.numpy(), o["labels_per_class"], o["repeats"], ctx.seed, o["val_size"])
        val = torch.from_numpy(val)
        selections, finals = [], []
        for r, chosen in enumerate(draws):
            ctx.log(f"svm: label draw {r + 1}/{len(draws)}")
            chosen = torch.from_numpy(chosen)
            fit_x, fit_labels = x[chosen.to(x.device)], labels[chosen]
            selecting = self._solver(ctx, fit_x, fit_labels)
            selection = self._walk(ctx, selecting, x, labels, val)
            # Same examples, same C: only converged to the final tolerance.
            finals.append(self._solver(ctx, fit_x, fit_labels, init=selection.model, final=True,
                                       spectrum=selecting.spectrum).solve(selection.c))
            selections.append(selection)
        details = {"c_per_draw": [s.c for s in selections], "val_acc_per_draw": [_by_c(s.val_acc) for s in selections],
                   "c_evaluated_per_draw": [s.evaluated for s in selections],
                   "walk_stopped_per_draw": [s.stopped for s in selections],
                   "n_val": len(val), "c_chosen": "per draw", **_edge_details(ctx, [s.c for s in selections], o["c_grid"])}
        return self._budget_metrics(ctx, x, finals, details)

    def _label_budget_one_c(self, ctx: ProbeContext, x: torch.Tensor, labels: torch.Tensor) -> list[Metric]:
        """The DCGAN authors' protocol: C chosen once by the mean validation accuracy of ``select_draws``
        label draws (drawn apart from the test draws), then every test draw is fitted at that C."""
        o = self.options
        per_class, train_labels = o["labels_per_class"], labels.numpy()
        val, draws = budget_draws(train_labels, per_class, o["repeats"], ctx.seed, o["val_size"])
        select = [label_budget(train_labels, per_class, seed=ctx.seed, draw=SELECT_DRAW_OFFSET + r, exclude=val)
                  for r in range(o["select_draws"])]
        val = torch.from_numpy(val)
        per_draw = []
        for r, chosen in enumerate(select):
            ctx.log(f"svm: C selection draw {r + 1}/{len(select)}")
            chosen = torch.from_numpy(chosen)
            solver = self._solver(ctx, x[chosen.to(x.device)], labels[chosen])
            # the whole grid, no early stop: C is chosen on the mean over draws, which needs every C of each
            per_draw.append(walk_c_grid(solver, o["c_grid"], 0, lambda model: model.accuracy(x, labels, val),
                                        len(val), ctx.log).val_acc)
        mean_val_acc = {c: float(np.mean([d[c] for d in per_draw])) for c in per_draw[0]}
        c = choose_c(mean_val_acc, len(val), o["selection"])
        ctx.log(f"svm: C={c:g} chosen on the mean validation accuracy of {len(select)} draws")
        finals = []
        for r, chosen in enumerate(draws):
            chosen = torch.from_numpy(chosen)
            finals.append(self._solver(ctx, x[chosen.to(x.device)], labels[chosen], final=True).solve(c))
        details = {"c": c, "c_per_draw": [c] * len(draws), "val_acc": _by_c(mean_val_acc),
                   "val_acc_per_select_draw": [_by_c(d) for d in per_draw], "select_draws": len(select),
                   "n_val": len(val), "c_chosen": "once, on the mean validation accuracy of the select draws",
                   "c_evaluated": list(mean_val_acc), "walk_stopped": "end of grid (select_draws walks it whole)",
                   **_edge_details(ctx, [c], o["c_grid"])}
        return self._budget_metrics(ctx, x, finals, details)

    def _budget_metrics(self, ctx, x, finals: list[LinearModel], details: dict) -> list[Metric]:
        o = self.options
        accuracies, n_test, predicted = self._test_accuracies(ctx, finals)
        n_labels = o["labels_per_class"] * ctx.dataset.num_classes
        spread = float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else None
        gaps = [m.gap for m in finals]
        details = {**details, "acc_per_draw": accuracies, "std": spread, "draws": len(finals),
                   "labels_per_class": o["labels_per_class"], **self._common_details(x),
                   "max_duality_gap": None if None in gaps else max(gaps)}
        return _metrics(f"_{n_labels}labels", float(np.mean(accuracies)), standard_error(accuracies), n_labels,
                        n_test, n_labels, details, predicted)

    def _test_accuracies(self, ctx: ProbeContext, models: list[LinearModel]) -> tuple[list[float], int, np.ndarray]:
        """Test accuracy of each final model, the test count and the ``(models, n_test)`` predicted classes;
        the only place the test split is read."""
        test_x, test_y = ctx.features("test")
        x, labels = as_tensor(test_x), torch.from_numpy(np.asarray(test_y, dtype=np.int64))
        predicted = torch.stack([model.predict(x) for model in models]) if models else torch.zeros(0, len(labels))
        accuracies = [float((p == labels).double().mean()) for p in predicted]
        return accuracies, len(labels), predicted.numpy()


def grid_edge(chosen, c_grid) -> str | None:
    """``"top"`` or ``"bottom"`` when a chosen C is the grid's largest or smallest value (the
    validation optimum may lie beyond it), else None."""
    grid = sorted(set(c_grid))
    if len(grid) < 2:
        return None
    if max(chosen) >= grid[-1]:
        return "top"
    return "bottom" if min(chosen) <= grid[0] else None


def _edge_details(ctx: ProbeContext, chosen, c_grid) -> dict:
    edge = grid_edge(chosen, c_grid)
    if edge is not None:
        ctx.log(f"svm: warning: C chosen at the {edge} of the grid ({', '.join(f'{c:g}' for c in sorted(set(c_grid)))}); "
                f"the best C may lie beyond it: extend it with --probe-opt c_grid=...")
    return {"c_at_grid_edge": edge}


def _by_c(val_acc: dict[float, float | None]) -> dict[str, float | None]:
    return {f"{c:g}": acc for c, acc in val_acc.items()}


def _metrics(suffix, accuracy, stderr, n_train, n_test, labels_used, details, predicted=None) -> list[Metric]:
    """``acc`` and ``err``; both carry the same predictions (stored once: the file is named by its content)."""
    common = dict(stderr=stderr, n_train=n_train, n_test=n_test, labels_used=labels_used, predictions=predicted)
    return [Metric("acc" + suffix, accuracy, True, details=dict(details), **common),
            Metric("err" + suffix, 1.0 - accuracy, False, details=dict(details), **common)]
