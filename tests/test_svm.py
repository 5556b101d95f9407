"""The ``svm`` probe: its solver against scikit-learn, its protocol's use of the splits."""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest
import torch
from sklearn.svm import LinearSVC

import ganbench
from ganbench.builtin.probes.svm import probe as svm
from ganbench.builtin.probes.svm.solver import (LinearModel, SklearnOvR, SquaredHingeOvR, Standardizer, as_tensor,
                                        objective)
from ganbench.api.splits import label_budget, validation_split


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These problems are tiny: extra threads only add synchronisation (badly so on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(n, dim, classes, separation, seed, offset=0.0):
    """Gaussian classes with different per-feature scales and an offset (standardization must matter)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, dim)) * separation
    x = centres[labels] + rng.normal(size=(n, dim))
    scales = rng.uniform(0.05, 20.0, dim)
    return (x * scales + offset).astype(np.float32), labels.astype(np.int64)


def dataset(train_labels, test_labels, classes):
    """A tiny ganbench.Dataset: the images are never looked at, the features come from the context."""
    def images(n):
        return torch.zeros(n, 1, 2, 2, dtype=torch.uint8)
    return ganbench.Dataset("synthetic", images(len(train_labels)), torch.from_numpy(train_labels),
                            images(len(test_labels)), torch.from_numpy(test_labels), [str(c) for c in range(classes)])


def context(train, test, classes, tmp_path, on_read=None, seed=0):
    """A ProbeContext over fixed features; ``on_read(split)`` is called on every feature read."""
    (train_x, train_y), (test_x, test_y) = train, test
    features = {"train": train_x, "test": test_x}

    def read(split):
        if on_read is not None:
            on_read(split)
        return features[split]

    def unavailable(*args):
        raise AssertionError("the svm probe needs no images or samples")

    return ganbench.ProbeContext(dataset(train_y, test_y, classes), "synthetic", seed, torch.device("cpu"), tmp_path,
                                 None, read, unavailable, unavailable, log=lambda message: None)


def probe(**options):
    resolved = {o.name: o.default for o in svm.OPTIONS}
    resolved.update(options)
    return svm.SVM(**resolved)


def by_name(metrics):
    return {m.name: m for m in metrics}


# -- the solver ---------------------------------------------------------------


@pytest.mark.parametrize("rank", [0, 8, 100], ids=["no-preconditioner", "top-8-of-30", "exact-spectrum"])
@pytest.mark.parametrize("separation, c", [(3.0, 1.0), (0.4, 1e-3), (0.4, 1.0)], ids=["separable", "overlap-smallC",
                                                                                      "overlap-largeC"])
def test_torch_solver_matches_linearsvc_at_equal_c(separation, c, rank):
    x, y = blobs(1500, 30, 4, separation, seed=1, offset=50.0)
    X, Y = as_tensor(x), torch.from_numpy(y)
    ours = SquaredHingeOvR(X, Y, 4, tol=1e-8, max_iter=5000, rank=rank).solve(c)
    reference = SklearnOvR(X, Y, 4, tol=1e-8, max_iter=100000).solve(c)
    z = ours.stats.transform(X)
    assert np.allclose(objective(ours, z, Y), objective(reference, z, Y), rtol=1e-5)
    assert torch.linalg.norm(ours.weight - reference.weight) <= 1e-3 * torch.linalg.norm(reference.weight)
    assert torch.allclose(ours.bias, reference.bias, atol=1e-3)
    assert ours.accuracy(X, Y) == pytest.approx(reference.accuracy(X, Y), abs=1 / len(y))
    if separation > 1:
        assert ours.accuracy(X, Y) == 1.0


def correlated(n, dim, classes, seed):
    """Features that are noisy mixtures of a few factors: a few huge eigenvalues, as in real network features."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    factors = rng.normal(size=(n, 5)) + rng.normal(size=(classes, 5))[labels]
    x = factors @ rng.normal(size=(5, dim)) + 0.3 * rng.normal(size=(n, dim))
    return x.astype(np.float32), labels.astype(np.int64)


def test_spectrum_equals_the_top_eigenpairs_of_the_standardized_gram_matrix():
    x, y = correlated(600, 40, 3, seed=20)
    X, Y = as_tensor(x), torch.from_numpy(y)
    rows = torch.arange(0, 600, 2)
    z = Standardizer.fit(X, rows).transform(X[rows])
    values, vectors = torch.linalg.eigh(z.T @ z)  # ascending
    for rank in (5, 40):
        spectrum = SquaredHingeOvR(X, Y, 3, rows=rows, rank=rank).spectrum
        # float32 products with the data: errors relative to the largest eigenvalue
        assert torch.allclose(spectrum.values, values.flip(0)[:rank], rtol=1e-4, atol=1e-6 * float(values.max()))
        assert torch.allclose(spectrum.vectors.T @ spectrum.vectors, torch.eye(rank, dtype=torch.float64), atol=1e-8)
        # the same subspace (eigenvectors are defined up to sign)
        overlap = (spectrum.vectors.T @ vectors.flip(1)[:, :rank]).abs().diagonal()
        assert torch.all(overlap[:5] > 1 - 1e-6)


def test_preconditioner_reaches_the_same_optimum_in_fewer_iterations_on_correlated_features():
    x, y = correlated(2000, 200, 4, seed=21)
    X, Y = as_tensor(x), torch.from_numpy(y)
    plain = SquaredHingeOvR(X, Y, 4, tol=1e-6, max_iter=5000, rank=0).solve(0.1)
    conditioned = SquaredHingeOvR(X, Y, 4, tol=1e-6, max_iter=5000, rank=20).solve(0.1)
    z = plain.stats.transform(X)
    assert np.allclose(objective(plain, z, Y), objective(conditioned, z, Y), rtol=1e-5)
    assert conditioned.iterations < plain.iterations / 2


def test_rows_mask_equals_fitting_on_the_subset():
    x, y = blobs(800, 20, 3, 0.5, seed=2, offset=-7.0)
    X, Y = as_tensor(x), torch.from_numpy(y)
    rows = torch.from_numpy(np.flatnonzero(np.arange(800) % 3 != 0))
    masked = SquaredHingeOvR(X, Y, 3, rows=rows, tol=1e-8, max_iter=5000).solve(0.05)
    subset = SquaredHingeOvR(X[rows], Y[rows], 3, tol=1e-8, max_iter=5000).solve(0.05)
    assert torch.allclose(masked.stats.mean, subset.stats.mean)
    assert torch.allclose(masked.stats.scale, subset.stats.scale)
    # both fits stop at a relative duality gap <= 1e-8, which pins the weights to the common optimum only to
    # ~sqrt(2 * gap * C * n) ~ 1e-3; the two paths take different iterations (10 and 13 with torch 2.14)
    # and land 1.3e-5 apart, so 1e-5 was a tolerance the solver never promised
    assert torch.allclose(masked.weight, subset.weight, atol=1e-4)


def test_warm_start_along_the_grid_reaches_the_cold_solution():
    x, y = blobs(800, 20, 3, 0.5, seed=3)
    X, Y = as_tensor(x), torch.from_numpy(y)
    walked = SquaredHingeOvR(X, Y, 3, tol=1e-8, max_iter=5000)
    for c in (1e-4, 1e-2, 1.0):
        warm = walked.solve(c)
    cold = SquaredHingeOvR(X, Y, 3, tol=1e-8, max_iter=5000).solve(1.0)
    assert torch.allclose(warm.weight, cold.weight, atol=1e-4)


def test_duality_gap_bounds_the_distance_to_the_optimum_and_stops_a_warm_start():
    x, y = blobs(1000, 25, 3, 0.4, seed=16)
    X, Y = as_tensor(x), torch.from_numpy(y)
    z = Standardizer.fit(X).transform(X)
    optimum = objective(SquaredHingeOvR(X, Y, 3, tol=1e-10, max_iter=5000).solve(1.0), z, Y)
    walked = SquaredHingeOvR(X, Y, 3, tol=1e-2)
    walked.solve(1e-2)
    loose = walked.solve(1.0)  # warm start from C = 0.01: far from the C = 1 optimum, must keep going
    gap = walked.relative_gap(1.0).numpy()
    reached = objective(loose, z, Y)
    assert np.all(gap >= 0) and np.all(gap <= 1e-2)
    assert np.all(reached - optimum <= gap * reached + 1e-9)
    assert np.all(reached - optimum <= 1e-2 * reached)


def test_solve_ends_with_margins_recomputed_from_the_weights_and_reports_its_gap():
    x, y = correlated(1500, 60, 4, seed=22)
    X, Y = as_tensor(x), torch.from_numpy(y)
    messages = []
    solver = SquaredHingeOvR(X, Y, 4, tol=1e-10, max_iter=3, log=messages.append)
    for c in (1e-3, 1e-1, 10.0):
        model = solver.solve(c)
        fresh = solver._scores(solver.theta)
        assert torch.equal(solver.margins, fresh)  # no drift left from the incremental updates
        assert model.gap == pytest.approx(float(solver.relative_gap(c).max()))
    assert model.gap > 1e-10 and any("stopped short" in m and "max_iter=3" in m for m in messages)


def test_unstandardized_fit_matches_linearsvc_on_raw_features():
    x, y = blobs(800, 12, 3, 0.5, seed=23, offset=1.0)
    X, Y = as_tensor(x), torch.from_numpy(y)
    ours = SquaredHingeOvR(X, Y, 3, tol=1e-9, max_iter=5000, standardize=False).solve(1e-3)
    reference = LinearSVC(C=1e-3, tol=1e-9, max_iter=200000).fit(x.astype(np.float64), y)
    assert torch.equal(ours.stats.scale, torch.ones(12, dtype=torch.float64))
    assert np.allclose(ours.weight.numpy(), reference.coef_, rtol=1e-3, atol=1e-6)
    assert np.allclose(ours.bias.numpy(), reference.intercept_, rtol=1e-3, atol=1e-6)


def test_standardizer_uses_the_fitting_rows_and_keeps_constant_features():
    x = np.random.default_rng(4).normal(size=(100, 3)).astype(np.float32)
    x[:, 2] = 5.0
    rows = torch.arange(0, 100, 2)
    stats = Standardizer.fit(as_tensor(x), rows)
    assert np.allclose(stats.mean.numpy(), x[::2].astype(np.float64).mean(0))
    assert np.allclose(stats.scale.numpy()[:2], x[::2, :2].astype(np.float64).std(0))
    assert stats.scale[2] == 1.0


def test_probe_never_modifies_the_features(tmp_path):
    train, test = blobs(400, 10, 3, 1.0, seed=5, offset=3.0), blobs(200, 10, 3, 1.0, seed=6, offset=3.0)
    before = train[0].copy(), test[0].copy()
    probe(c_grid=[1e-3, 1e-1]).run(context(train, test, 3, tmp_path))
    assert np.array_equal(train[0], before[0]) and np.array_equal(test[0], before[1])


# -- the protocol: C is never chosen on test data -----------------------------


def noisy_high_dimensional(seed):
    """Few examples, many features, 30% flipped labels: the validation split favours a small C."""
    rng = np.random.default_rng(seed)
    x, y = blobs(600, 300, 2, 0.15, seed=seed)
    flip = rng.random(len(y)) < 0.3
    y[flip] = 1 - y[flip]
    return x, y


@pytest.mark.slow
def test_chosen_c_ignores_a_test_split_that_favours_another_c(tmp_path):
    train = noisy_high_dimensional(7)
    honest_test = noisy_high_dimensional(8)
    grid = [1e-5, 1e-3, 1e-1, 10.0]
    # Poisoned test split: the training examples themselves, where the least regularised fit scores best.
    poisoned_test = train
    X, Y = as_tensor(train[0]), torch.from_numpy(train[1])
    solver = SquaredHingeOvR(X, Y, 2)
    test_best = max(grid, key=lambda c: (solver.solve(c).accuracy(X, Y), c))

    options = dict(c_grid=grid, grid_patience=0)
    honest = by_name(probe(**options).run(context(train, honest_test, 2, tmp_path)))["acc"]
    poisoned = by_name(probe(**options).run(context(train, poisoned_test, 2, tmp_path)))["acc"]
    assert honest.details["c"] != test_best, "set-up: the test split must favour another C than validation"
    assert poisoned.details["c"] == honest.details["c"]
    assert poisoned.details["val_acc"] == honest.details["val_acc"]
    by_c = {float(c): acc for c, acc in honest.details["val_acc"].items()}
    assert honest.details["c"] == svm.best_choice(by_c)


@pytest.mark.parametrize("budget", [{}, {"labels_per_class": 20, "repeats": 2}], ids=["all-labels", "label-budget"])
def test_test_split_is_read_once_after_every_fit(tmp_path, monkeypatch, budget):
    events = []
    real_solve = SquaredHingeOvR.solve

    def recorded_solve(self, c):
        events.append("fit")
        return real_solve(self, c)

    monkeypatch.setattr(SquaredHingeOvR, "solve", recorded_solve)
    train, test = blobs(600, 10, 3, 1.0, seed=9), blobs(300, 10, 3, 1.0, seed=10)
    probe(c_grid=[1e-3, 1e-1], **budget).run(context(train, test, 3, tmp_path, on_read=events.append))
    assert events.count("test") == 1
    assert events.index("test") > max(i for i, e in enumerate(events) if e == "fit")
    assert events[0] == "train"


# -- label budgets ------------------------------------------------------------


def test_label_budget_draws_are_balanced_disjoint_from_validation_and_repeatable():
    labels = np.random.default_rng(11).integers(0, 4, 2000)
    val, draws = svm.budget_draws(labels, per_class=25, repeats=3, seed=5, val_size=300)
    val_again, draws_again = svm.budget_draws(labels, per_class=25, repeats=3, seed=5, val_size=300)
    assert len(val) == 300 and np.array_equal(val, val_again)
    for draw, again in zip(draws, draws_again):
        assert np.array_equal(draw, again)
        assert np.array_equal(np.bincount(labels[draw], minlength=4), [25] * 4)
        assert not set(draw) & set(val)
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    _, other_seed = svm.budget_draws(labels, per_class=25, repeats=1, seed=6, val_size=300)
    assert not np.array_equal(other_seed[0], draws[0])


@pytest.mark.parametrize("size", [1, 7, 999, 10000])
def test_validation_split_has_exactly_the_asked_size_in_class_proportions(size):
    counts = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])  # MNIST's training classes
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(10), counts))
    fit, val = validation_split(labels, size=size, seed=3)
    per_class = np.bincount(labels[val], minlength=10)
    if size >= 10:
        assert len(val) == size and np.all(np.abs(per_class - size * counts / counts.sum()) < 1)
    else:  # fewer than one per class: every class still gets one
        assert np.array_equal(per_class, np.ones(10))
    assert np.all(per_class >= 1) and len(np.intersect1d(fit, val)) == 0 and len(fit) + len(val) == len(labels)


def test_validation_is_scaled_down_for_small_training_splits():
    assert svm.validation_size(60000, 10000) == 10000
    assert svm.validation_size(4000, 10000) == 666
    assert svm.validation_size(4000, 100) == 100


def test_label_budget_mean_and_stderr_equal_an_independent_computation(tmp_path):
    classes, per_class, repeats, seed, val_size = 3, 10, 4, 3, 150
    train, test = blobs(900, 6, classes, 0.6, seed=12), blobs(400, 6, classes, 0.6, seed=13)
    metrics = by_name(probe(solver="sklearn", standardize=True, labels_per_class=per_class, repeats=repeats, val_size=val_size,
                            c_grid=[1e-3, 1e-1], tol=1e-8, max_iter=100000)
                      .run(context(train, test, classes, tmp_path, seed=seed)))
    acc, err = metrics["acc_30labels"], metrics["err_30labels"]

    # The documented protocol, redone with the core's split helpers, numpy and scikit-learn.
    _, val = validation_split(train[1], size=val_size, seed=seed)
    accuracies = []
    for r, c in enumerate(acc.details["c_per_draw"]):
        chosen = label_budget(train[1], per_class, seed=seed, draw=r, exclude=val)
        fit_x = train[0][chosen].astype(np.float64)
        mean, std = fit_x.mean(0), fit_x.std(0)
        clf = LinearSVC(C=c, loss="squared_hinge", tol=1e-8, max_iter=100000)
        clf.fit((fit_x - mean) / std, train[1][chosen])
        accuracies.append(float((clf.predict((test[0] - mean) / std) == test[1]).mean()))

    assert acc.details["acc_per_draw"] == pytest.approx(accuracies, abs=1e-12)
    assert acc.value == pytest.approx(np.mean(accuracies))
    assert acc.stderr == pytest.approx(np.std(accuracies, ddof=1) / np.sqrt(repeats))
    assert err.value == pytest.approx(1 - np.mean(accuracies)) and err.stderr == acc.stderr
    assert acc.higher_is_better and not err.higher_is_better
    assert acc.labels_used == acc.n_train == per_class * classes and acc.n_test == 400


def test_all_labels_metrics_and_details(tmp_path):
    train, test = blobs(900, 8, 3, 1.0, seed=14), blobs(300, 8, 3, 1.0, seed=15)
    metrics = by_name(probe(c_grid=[1e-4, 1e-2, 1.0], val_size=200).run(context(train, test, 3, tmp_path)))
    acc = metrics["acc"]
    assert set(metrics) == {"acc", "err"}
    assert acc.details["n_val"] == 150 and acc.details["n_fit"] == 750 and acc.n_train == 900
    assert acc.details["c"] in (1e-4, 1e-2, 1.0) and acc.stderr is None
    assert metrics["err"].value == pytest.approx(1 - acc.value)


def test_grid_walk_stops_after_patience_values_without_a_gain_beyond_one_standard_error():
    class Scripted:
        def __init__(self):
            self.tried = []

        def solve(self, c):
            self.tried.append(c)
            return LinearModel(torch.zeros(1, 1), torch.zeros(1), None, c)

    # n_val = 100: gains must beat the best by its standard error (0.046 at 0.7, 0.043 at 0.75, 0.029 at 0.91)
    val_acc = {1: 0.5, 2: 0.7, 3: 0.75, 4: 0.6, 5: 0.9, 6: 0.91, 7: 0.2, 8: 0.99}
    grid = sorted(val_acc, reverse=True)  # the order given does not matter: the walk goes up

    def walk(patience):
        solver = Scripted()
        selection = svm.walk_c_grid(solver, grid, patience, lambda model: val_acc[model.c], 100, lambda message: None,
                                    rule="one-se")
        return solver.tried, selection.c

    assert walk(1) == ([1, 2, 3, 4], 3)  # 0.7 is more than one stderr below 0.75
    assert walk(2) == ([1, 2, 3, 4, 5, 6, 7], 5)  # 6 is no gain beyond noise; 5 is within one stderr of it
    assert walk(0) == ([1, 2, 3, 4, 5, 6, 7, 8], 8)


class ScriptedSolver:
    """Stands in for a solver: records the Cs fitted and returns an empty model at each."""

    def __init__(self):
        self.tried = []

    def solve(self, c):
        self.tried.append(c)
        return LinearModel(torch.zeros(1, 1), torch.zeros(1), None, c)


def test_default_selection_walks_the_whole_grid_and_takes_the_best_ties_to_the_smaller_c():
    # n_val = 100: 0.90 at C=2 is within one standard error (0.027) of the best, 0.92; a plateau follows
    val_acc = {1: 0.5, 2: 0.90, 3: 0.92, 4: 0.85, 5: 0.92, 6: 0.6}
    options = {o.name: o.default for o in svm.OPTIONS}
    solver = ScriptedSolver()
    selection = svm.walk_c_grid(solver, sorted(val_acc, reverse=True), options["grid_patience"],
                                lambda model: val_acc[model.c], 100, lambda message: None)
    assert solver.tried == [1, 2, 3, 4, 5, 6]
    assert selection.c == 3  # 3 and 5 tie at the best: the smaller C
    assert selection.val_acc == val_acc
    assert svm.best_choice({1e-3: 0.9, 1e-2: 0.9, 1e-1: 0.89}) == 1e-3
    assert svm.choose_c(val_acc, 100, "one-se") == 2
    assert options["selection"] == "best"


def test_one_standard_error_rule_picks_the_smallest_c_close_to_the_best():
    assert svm.one_standard_error_choice({1e-3: 0.900, 1e-2: 0.905, 1e-1: 0.906}, 10000) == 1e-2  # se 0.0029
    assert svm.one_standard_error_choice({1e-3: 0.900, 1e-2: 0.905, 1e-1: 0.906}, 100) == 1e-3  # se 0.029
    assert svm.one_standard_error_choice({1e-3: 0.5, 1e-2: 1.0}, 10) == 1e-2  # se 0 at 100%
    assert svm.accuracy_stderr(0.9, 100) == pytest.approx(0.03)


def test_svm_is_a_registered_probe_with_its_options():
    from ganbench.plugins import get_registry

    spec = get_registry().get("probe", "svm")
    assert spec.requires == frozenset({"features"})
    assert {o.name for o in spec.options} >= {"c_grid", "labels_per_class", "repeats", "val_size", "solver"}


# -- the papers' protocol against an independent scikit-learn run -------------

PROTOCOL_GRID = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def linearsvc(x, y, c, scaler=None):
    """LinearSVC at C, on ``scaler``-standardized float64 features (raw when None), converged tightly."""
    clf = LinearSVC(C=c, loss="squared_hinge", tol=1e-6, max_iter=200000)
    x = x.astype(np.float64)
    return clf.fit(x if scaler is None else scaler.transform(x), y)


def nuisance(n, dim, classes, seed, shift=0.2, load=3.0):
    """Class means hidden under three large shared factors: a small C (close to a nearest-centroid rule)
    cannot undo them, so validation accuracy climbs with C up to the end of the grid."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, dim)) * shift
    x = centres[y] + (rng.normal(size=(n, 3)) * load) @ rng.normal(size=(3, dim)) + rng.normal(size=(n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def reference_all_labels(train, test, val_size, seed):
    """DCGAN §5.2 with scikit-learn: C with the best validation accuracy (ties to the smaller C) over the whole
    grid, on the probe's validation split; then a refit on every training example at that C."""
    from sklearn.preprocessing import StandardScaler

    (x, y), (test_x, test_y) = train, test
    fit, val = validation_split(y, size=svm.validation_size(len(y), val_size), seed=seed)
    scaler = StandardScaler().fit(x[fit].astype(np.float64))
    val_acc = {}
    for c in PROTOCOL_GRID:
        clf = linearsvc(x[fit], y[fit], c, scaler)
        val_acc[c] = float((clf.predict(scaler.transform(x[val].astype(np.float64))) == y[val]).mean())
    best = max(val_acc.values())
    chosen = min(c for c, acc in val_acc.items() if acc == best)
    scaler = StandardScaler().fit(x.astype(np.float64))
    clf = linearsvc(x, y, chosen, scaler)
    return chosen, val_acc, float((clf.predict(scaler.transform(test_x.astype(np.float64))) == test_y).mean())


def test_all_labels_chooses_the_c_linearsvc_chooses_and_scores_as_it_does(tmp_path):
    classes, seed, val_size = 3, 4, 300
    x, y = nuisance(2400, 100, classes, seed=10)
    # Validation accuracy climbs to 0.843 at C = 1 (0.837 at 0.1, 0.823 at 0.01): the old default (one
    # standard error, 0.021, and a walk that stopped after one value without such a gain) chose 0.01.
    train, test = (x[:1800], y[:1800]), (x[1800:], y[1800:])
    c_ref, val_ref, acc_ref = reference_all_labels(train, test, val_size, seed)
    # Both solvers converged tightly: the same objective, so the same classifiers to a few borderline examples.
    metrics = by_name(probe(c_grid=PROTOCOL_GRID, standardize=True, val_size=val_size, select_tol=1e-6, tol=1e-6, max_iter=5000)
                      .run(context(train, test, classes, tmp_path, seed=seed)))
    acc = metrics["acc"]
    assert {float(c) for c in acc.details["val_acc"]} == set(PROTOCOL_GRID)  # the whole grid was walked
    for c, value in acc.details["val_acc"].items():  # same split, same objective: same validation figures
        assert value == pytest.approx(val_ref[float(c)], abs=1 / 300), c
    assert acc.details["c"] == c_ref
    assert acc.details["c"] == svm.best_choice({float(c): v for c, v in acc.details["val_acc"].items()})
    assert acc.value == pytest.approx(acc_ref, abs=2 / 600)  # 2 of 600 test examples
    assert acc.details["max_duality_gap"] <= 1e-6



def test_label_budget_runs_the_authors_protocol_as_linearsvc_does(tmp_path):
    """Newmu/dcgan_code svhn_semisup_analysis.py: LinearSVC on raw features, C chosen once by the mean
    validation accuracy over draws of N labels per class, then the test accuracy averaged over other draws."""
    classes, per_class, select_draws, repeats, seed, val_size = 3, 30, 3, 4, 2, 300
    x, y = nuisance(2400, 60, classes, seed=11, shift=0.3)
    train, test = (x[:1800], y[:1800]), (x[1800:], y[1800:])
    metrics = by_name(probe(labels_per_class=per_class, select_draws=select_draws, repeats=repeats,
                            standardize=False, val_size=val_size, c_grid=PROTOCOL_GRID, select_tol=1e-6, tol=1e-6,
                            max_iter=5000).run(context(train, test, classes, tmp_path, seed=seed)))
    acc = metrics[f"acc_{per_class * classes}labels"]

    # The protocol, redone with the core's split helpers and scikit-learn on the raw features.
    _, val = validation_split(train[1], size=val_size, seed=seed)
    selection_draws = [label_budget(train[1], per_class, seed=seed, draw=1_000_000 + r, exclude=val)
                       for r in range(select_draws)]
    mean_val_acc = {}
    for c in PROTOCOL_GRID:
        mean_val_acc[c] = np.mean([(linearsvc(train[0][d], train[1][d], c).predict(train[0][val]) == train[1][val]).mean()
                                   for d in selection_draws])
    best = max(mean_val_acc.values())
    chosen = min(c for c, v in mean_val_acc.items() if v == best)
    accuracies = []
    for r in range(repeats):
        d = label_budget(train[1], per_class, seed=seed, draw=r, exclude=val)
        accuracies.append((linearsvc(train[0][d], train[1][d], chosen).predict(test[0]) == test[1]).mean())

    assert acc.details["acc_per_draw"] == pytest.approx(accuracies, abs=2 / 600)
    assert acc.details["c"] == chosen and acc.details["c_per_draw"] == [chosen] * repeats
    for c, value in acc.details["val_acc"].items():
        assert value == pytest.approx(mean_val_acc[float(c)], abs=1 / 300), c
    assert acc.value == pytest.approx(np.mean(accuracies), abs=1 / 600)
    assert acc.details["standardize"] is False and acc.details["select_draws"] == select_draws


@pytest.mark.parametrize("chosen, edge", [([1.0], "top"), ([1e-3], "bottom"), ([1e-2], None), ([1e-2, 1.0], "top")])
def test_grid_edge_names_a_chosen_c_at_either_end_of_the_grid(chosen, edge):
    assert svm.grid_edge(chosen, [1e-2, 1e-3, 1e-1, 1.0]) == edge
    assert svm.grid_edge(chosen, [chosen[0]]) is None  # a one-value grid has no optimum to miss


def test_a_c_chosen_at_the_grid_edge_is_recorded_and_warned_about(tmp_path):
    train, test = blobs(600, 8, 3, 1.0, seed=14), blobs(150, 8, 3, 1.0, seed=15)
    messages = []
    ctx = context(train, test, 3, tmp_path)
    ctx = dataclasses.replace(ctx, log=messages.append)
    grid = [1e-6, 1e-5]  # every value is an edge of a two-value grid
    acc = by_name(probe(c_grid=grid, val_size=100).run(ctx))["acc"]
    assert acc.details["c_at_grid_edge"] == ("top" if acc.details["c"] == 1e-5 else "bottom")
    assert any("warning: C chosen at the" in m and "c_grid" in m for m in messages)
    inside = by_name(probe(c_grid=[1e-3, 1e-1, 10.0, 1000.0], val_size=100).run(context(train, test, 3, tmp_path)))["acc"]
    assert inside.details["c_at_grid_edge"] == svm.grid_edge([inside.details["c"]], [1e-3, 1e-1, 10.0, 1000.0])


# -- the early stop along the C path (stop_after_falls) -------------------------


def test_walk_stops_after_the_stated_number_of_consecutive_falls_and_says_why():
    # falls at 4 and 5, a rise at 6, then falls at 7, 8, 9
    val_acc = {1: 0.5, 2: 0.7, 3: 0.8, 4: 0.75, 5: 0.7, 6: 0.72, 7: 0.71, 8: 0.6, 9: 0.5, 10: 0.4}

    def walk(falls):
        solver = ScriptedSolver()
        selection = svm.walk_c_grid(solver, list(val_acc), 0, lambda model: val_acc[model.c], 100,
                                    lambda message: None, falls=falls)
        return solver.tried, selection

    tried, selection = walk(3)
    assert tried == [1, 2, 3, 4, 5, 6, 7, 8, 9] and selection.evaluated == tried and selection.c == 3
    assert selection.stopped == ("stop_after_falls=3: validation accuracy fell at 3 consecutive values "
                                 "(C = 7, 8, 9)")
    tried, selection = walk(2)
    assert tried == [1, 2, 3, 4, 5] and selection.c == 3 and "(C = 4, 5)" in selection.stopped
    tried, selection = walk(0)
    assert tried == list(val_acc) and selection.c == 3 and selection.stopped == "end of grid"
    tried, selection = walk(4)  # never four falls in a row
    assert tried == list(val_acc) and selection.stopped == "end of grid"


def test_a_fall_that_ends_on_the_last_value_is_the_end_of_the_grid():
    val_acc = {1: 0.9, 2: 0.8, 3: 0.7}
    selection = svm.walk_c_grid(ScriptedSolver(), list(val_acc), 0, lambda model: val_acc[model.c], 100,
                                lambda message: None, falls=2)
    assert selection.stopped == "end of grid" and selection.evaluated == [1, 2, 3]


def test_the_stop_changes_the_choice_only_when_accuracy_climbs_back_after_the_falls():
    # the documented limit: a rise above the best after three falls in a row is not seen
    val_acc = {1: 0.8, 2: 0.79, 3: 0.78, 4: 0.77, 5: 0.9}
    stopped = svm.walk_c_grid(ScriptedSolver(), list(val_acc), 0, lambda model: val_acc[model.c], 100,
                              lambda message: None, falls=3)
    whole = svm.walk_c_grid(ScriptedSolver(), list(val_acc), 0, lambda model: val_acc[model.c], 100,
                            lambda message: None, falls=0)
    assert (stopped.c, whole.c) == (1, 5)


def overfitting_three_classes(seed=3, n=780, n_train=480, dim=200, separation=0.2, flip=0.2):
    """Few examples, many features, 20% random labels: validation accuracy peaks at a small C, then falls."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = (rng.normal(size=(3, dim)) * separation)[labels] + rng.normal(size=(n, dim))
    flipped = rng.random(n) < flip
    labels[flipped] = rng.integers(0, 3, flipped.sum())
    x, labels = x.astype(np.float32), labels.astype(np.int64)
    return (x[:n_train], labels[:n_train]), (x[n_train:], labels[n_train:])


def test_early_stop_chooses_the_c_and_scores_the_test_accuracy_of_the_whole_walk(tmp_path):
    train, test = overfitting_three_classes()
    grid = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    runs = {falls: by_name(probe(c_grid=grid, stop_after_falls=falls).run(context(train, test, 3, tmp_path)))["acc"]
            for falls in (0, 2, 3)}
    whole = runs[0]
    assert whole.details["c_evaluated"] == grid and whole.details["walk_stopped"] == "end of grid"
    assert grid[0] < whole.details["c"] < grid[-1], "set-up: the best C inside the grid"
    for falls in (2, 3):
        early = runs[falls]
        assert early.details["c"] == whole.details["c"] and early.value == whole.value
        assert len(early.details["c_evaluated"]) < len(grid), "set-up: the walk must stop early"
        assert early.details["walk_stopped"].startswith(f"stop_after_falls={falls}:")
        tried = early.details["c_evaluated"]
        assert {c: whole.details["val_acc"][f"{c:g}"] for c in tried} == \
            {c: early.details["val_acc"][f"{c:g}"] for c in tried}
    assert whole.details["stop_after_falls"] == 0 and runs[3].details["stop_after_falls"] == 3


def test_default_stop_is_two_falls_and_the_probe_version_is_3():
    from ganbench.plugins import get_registry

    options = {o.name: o.default for o in svm.OPTIONS}
    assert options["stop_after_falls"] == 2
    assert get_registry().get("probe", "svm").version == "3"
