"""The orthogonal-subspace projections: INLP on planted directions, rank-1 on a real D, the saved figures."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from sklearn.linear_model import LogisticRegression

from ganbench.api.data import Dataset, to_model_input
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.builtin.models.ortho.projections import RealFakeSeparability, project_out
from ganbench.jobs.training import Trainer, TrainSettings, set_seed

CPU = torch.device("cpu")
DIM = 24


pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


def planted(n: int, directions: torch.Tensor, seed: int):
    """Features with real/fake along ``directions[:, 0]`` (strong) and ``[:, 1]`` (weak),
    and a two-class label along ``directions[:, 2]``, in isotropic noise."""
    g = torch.Generator().manual_seed(seed)
    rf_strong, rf_weak, cls = directions[:, 0], directions[:, 1], directions[:, 2]

    def draw(sign: float):
        y = torch.randint(0, 2, (n,), generator=g)
        x = torch.randn(n, DIM, generator=g) + sign * (2.0 * rf_strong + 0.6 * rf_weak) + 3.0 * (2 * y[:, None] - 1) * cls
        return x, y

    (real, real_y), (fake, fake_y) = draw(+1.0), draw(-1.0)
    return real, fake, torch.cat([real_y, fake_y])


def held_out_accuracy(train_x, train_y, test_x, test_y) -> float:
    """An independent check: scikit-learn's logistic regression, fitted and scored on separate draws."""
    clf = LogisticRegression(max_iter=2000).fit(train_x.numpy(), train_y.numpy())
    return float(clf.score(test_x.numpy(), test_y.numpy()))


@pytest.fixture(scope="module")
def directions() -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(DIM, DIM, generator=torch.Generator().manual_seed(1)))
    return q[:, :3]  # orthonormal, and not along any axis


def test_inlp_brings_real_fake_to_chance_and_keeps_the_class_direction(directions):
    real, fake, _ = planted(1500, directions, seed=2)
    fit = RealFakeSeparability(real, fake, torch.Generator().manual_seed(0)).inlp(max_directions=20, tolerance=0.02)
    assert fit.accuracy_before > 0.95
    assert fit.accuracy_after <= 0.52
    assert 2 <= fit.directions < 20  # both planted directions, far from all of them
    assert torch.allclose(fit.basis.T @ fit.basis, torch.eye(fit.directions), atol=1e-5)

    # Fresh draws, scored by a classifier INLP never saw.
    fit_real, fit_fake, fit_cls = planted(1500, directions, seed=3)
    test_real, test_fake, test_cls = planted(1500, directions, seed=4)
    source = lambda r, f: torch.cat([torch.ones(len(r)), torch.zeros(len(f))])  # noqa: E731
    before = (torch.cat([fit_real, fit_fake]), torch.cat([test_real, test_fake]))
    after = tuple(project_out(x, fit.basis) for x in before)
    rf_y = (source(fit_real, fit_fake), source(test_real, test_fake))
    assert held_out_accuracy(before[0], rf_y[0], before[1], rf_y[1]) > 0.95
    assert held_out_accuracy(after[0], rf_y[0], after[1], rf_y[1]) <= 0.55
    class_before = held_out_accuracy(before[0], fit_cls, before[1], test_cls)
    class_after = held_out_accuracy(after[0], fit_cls, after[1], test_cls)
    assert class_before > 0.95 and class_after >= class_before - 0.01
    # the class direction itself is (almost) untouched by the projection
    cls_dir = directions[:, 2]
    assert torch.dot(project_out(cls_dir[None], fit.basis)[0], cls_dir) > 0.95


def test_inlp_removes_nothing_when_real_and_fake_are_alike(directions):
    real, _, _ = planted(1000, directions, seed=5)
    also_real, _, _ = planted(1000, directions, seed=6)
    fit = RealFakeSeparability(real, also_real, torch.Generator().manual_seed(0)).inlp(20, 0.03)
    assert fit.directions == 0 and fit.accuracy_before == fit.accuracy_after <= 0.53


def test_projection_is_idempotent_and_orthogonal_to_the_basis(directions):
    x = torch.randn(50, DIM, generator=torch.Generator().manual_seed(7))
    once = project_out(x, directions[:, :2])
    assert torch.allclose(project_out(once, directions[:, :2]), once, atol=1e-5)
    assert (once @ directions[:, :2]).abs().max() < 1e-5
    # what is orthogonal to the basis passes unchanged
    assert torch.allclose(once @ directions[:, 2], x @ directions[:, 2], atol=1e-5)


def tiny_digits() -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(64) % 10
    return Dataset("noise", x, y, x[:16].clone(), y[:16].clone(), [str(i) for i in range(10)])


def trained_ortho(folder, seed: int = 0, **given):
    spec = get_registry().get("model", "ortho")
    options = resolve_options(spec.options, {"width": "4", "nz": "8", **given}, "ortho")
    data = tiny_digits()
    set_seed(seed)
    model = spec.factory(**options)
    model.setup(data.info(), CPU)
    outcome = Trainer(model, data, CPU, 0, TrainSettings(max_steps=4, batch_size=16), folder, log=lambda m: None).run()
    assert outcome.status == "ok"
    return model, to_model_input(data.test_x, model.image_size, model.value_range, CPU)


@pytest.mark.slow
def test_rank1_view_has_nothing_along_the_real_fake_weights(tmp_path):
    model, x = trained_ortho(tmp_path)
    w = model.d.real_fake_direction()
    last = model.features(x, "d-last")
    rank1 = model.features(x, "d-last-rank1")
    assert (last @ w).abs().max() > 1e-3  # there was something to remove
    assert (rank1 @ w).abs().max() < 1e-4 * last.norm(dim=1).max()
    # only that one direction changed
    removed = last - rank1
    assert torch.allclose(removed, (last @ w)[:, None] * w[None], atol=1e-5)


def test_fitted_projection_and_its_figures_are_saved_with_the_weights(tmp_path):
    model, x = trained_ortho(tmp_path, inlp_max_directions="6")
    report = model.report()
    assert report["inlp_view"] == "d-last"
    assert 0 <= report["inlp_directions_removed"] <= 6
    for key in ("real_fake_acc_before", "real_fake_acc_after", "rank1_real_fake_acc_before", "rank1_real_fake_acc_after"):
        assert 0.0 <= report[key] <= 1.0
    if report["inlp_directions_removed"] < 6:  # stopped by the tolerance, not the cap
        assert report["real_fake_acc_after"] <= 0.52
    stored = load_file(str(tmp_path / "weights.safetensors"))
    assert int(stored["projection.directions"]) == report["inlp_directions_removed"]

    reloaded, _ = trained_ortho(tmp_path, seed=1, inlp_max_directions="6")  # loads, does not refit
    assert reloaded.report() == report
    assert torch.equal(reloaded.features(x, "d-last-inlp"), model.features(x, "d-last-inlp"))
    basis = model.projection.active_basis()
    projected = model.features(x, "d-last-inlp")
    assert (projected @ basis).abs().max() < 1e-4 * projected.norm(dim=1).max()


# -- what INLP promises, on a real D's features --------------------------------
INLP_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def fitted_on_digits():
    """An ortho model (width 2: ``d-last`` has 128 dimensions) whose INLP is fitted on 1,000 MNIST digits and as
    many samples, as ``after_training`` does after training; and fresh digits and samples it never saw."""
    from ganbench.builtin.datasets.mnist.loader import load_mnist_5k

    data = load_mnist_5k()
    spec = get_registry().get("model", "ortho")
    set_seed(0)
    model = spec.factory(**resolve_options(spec.options, {"width": "2", "nz": "8"}, "ortho"))
    model.setup(data.info(), CPU)
    model.after_training(to_model_input(data.train_x[:1000], 32, model.value_range, CPU))
    fresh_real = to_model_input(data.train_x[1000:2000], 32, model.value_range, CPU)
    fresh_fake = model.sample(1000, torch.Generator().manual_seed(99))
    return model, torch.cat([fresh_real, fresh_fake]), torch.cat([torch.ones(1000), torch.zeros(1000)])


@pytest.mark.slow
def test_inlp_view_removes_exactly_its_orthonormal_directions(fitted_on_digits):
    model, x, _ = fitted_on_digits
    report, basis = model.report(), model.projection.active_basis()
    k = report["inlp_directions_removed"]
    assert basis.shape == (128, k) and 0 < k < model.options["inlp_max_directions"]
    assert report["real_fake_acc_before"] > 0.95
    assert report["real_fake_acc_after"] <= 0.5 + INLP_TOLERANCE  # stopped by the tolerance, not the cap
    assert torch.allclose(basis.T @ basis, torch.eye(k), atol=1e-5), "directions orthonormal"

    plain, projected = model.features(x, "d-last"), model.features(x, "d-last-inlp")
    assert torch.allclose(projected, plain - (plain @ basis) @ basis.T, atol=1e-5)
    assert (projected @ basis).abs().max() < 1e-5 * plain.abs().max(), "nothing left along a removed direction"
    again = projected - (projected @ basis) @ basis.T
    assert torch.allclose(again, projected, atol=1e-6 * float(plain.abs().max())), "the projection is idempotent"
    # the view's rank drops by exactly k: k singular values vanish, none of the others do
    top = torch.linalg.svdvals(plain.double())[0]
    plain_small = int((torch.linalg.svdvals(plain.double()) < 1e-5 * top).sum())
    sv = torch.linalg.svdvals(projected.double())
    assert plain_small == 0 and int((sv < 1e-5 * top).sum()) == k
    if k < 128:
        assert sv[127 - k] > 1e-3 * top


def standardized_logistic_accuracy(features: torch.Tensor, labels: torch.Tensor) -> float:
    """A fresh linear classifier (scikit-learn, standardized features, its own intercept), fitted on one half
    of ``features`` and scored on the other."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(0))
    fit, held = order[: len(order) // 2], order[len(order) // 2:]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    clf.fit(features[fit].numpy(), labels[fit].numpy())
    return float(clf.score(features[held].numpy(), labels[held].numpy()))


@pytest.mark.slow
def test_inlp_view_leaves_a_fresh_classifier_at_chance_on_held_out_features(fitted_on_digits):
    """The fixture's G is untrained: its samples are nearly one point (per-feature spread ~1e-9 against ~1e-4 for
    digits), so along *every* direction where the digits vary a threshold just beside that point separates them
    (balanced accuracy >= 0.75). No linear view short of the empty one hides real/fake then, and INLP, which now
    also looks for spread differences, removes every direction: the view is exactly zero, not rounding residue
    (which a standardizing classifier would blow up)."""
    model, x, labels = fitted_on_digits
    assert standardized_logistic_accuracy(model.features(x, "d-last"), labels) > 0.95
    assert standardized_logistic_accuracy(model.features(x, "d-last-rank1"), labels) > 0.95
    # 1,000 held-out examples: 3 standard errors of a chance accuracy are 0.05
    assert standardized_logistic_accuracy(model.features(x, "d-last-inlp"), labels) <= 0.5 + INLP_TOLERANCE + 0.05


# -- spread differences: what a least-squares (or any mean-based) classifier cannot see --------------------------
SPREAD_DIM = 8


def spread_and_shift(n: int, seed: int):
    """Real and generated features ``(n, 8)`` in unit noise: the classes' means differ along ``q[:, 0]`` (+-1); along
    ``q[:, 1]`` the means agree but the generated ones are nearly constant (spread 0.001 against 1), like a young
    generator's. Returns real, fake and ``q``."""
    q, _ = torch.linalg.qr(torch.randn(SPREAD_DIM, SPREAD_DIM, generator=torch.Generator().manual_seed(1)))
    shift, spread = q[:, 0], q[:, 1]
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, SPREAD_DIM, generator=g) + shift
    fake = torch.randn(n, SPREAD_DIM, generator=g) - shift
    fake -= 0.999 * (fake @ spread)[:, None] * spread
    return real, fake, q


def threshold_accuracy(fit_x, fit_y, test_x, test_y) -> float:
    """An independent linear classifier with its own threshold: scikit-learn's depth-1 decision tree on one feature."""
    from sklearn.tree import DecisionTreeClassifier

    stump = DecisionTreeClassifier(max_depth=1).fit(fit_x[:, None].numpy(), fit_y.numpy())
    return float(stump.score(test_x[:, None].numpy(), test_y.numpy()))


def test_inlp_removes_a_direction_where_only_the_spread_differs():
    real, fake, q = spread_and_shift(1000, seed=2)
    fit = RealFakeSeparability(real, fake, torch.Generator().manual_seed(0)).inlp(max_directions=SPREAD_DIM,
                                                                                   tolerance=INLP_TOLERANCE)
    assert fit.accuracy_before > 0.8 and fit.accuracy_after <= 0.5 + INLP_TOLERANCE
    assert torch.allclose(fit.basis.T @ fit.basis, torch.eye(fit.directions), atol=1e-5)
    # both planted directions are (mostly) inside the removed span; a least-squares discriminant, which sees the
    # class means only, leaves the spread direction whole (0.998 of it)
    assert project_out(q[:, :2].T, fit.basis).norm(dim=1).max() < 0.2

    # fresh draws: a threshold along the spread direction, and a standardized logistic regression on the whole view
    fit_real, fit_fake, _ = spread_and_shift(1000, seed=3)
    test_real, test_fake, _ = spread_and_shift(1000, seed=4)
    labels = torch.cat([torch.ones(1000), torch.zeros(1000)])
    fit_x, test_x = torch.cat([fit_real, fit_fake]), torch.cat([test_real, test_fake])
    along = lambda x: x @ q[:, 1]  # noqa: E731
    assert threshold_accuracy(along(fit_x), labels, along(test_x), labels) > 0.7  # the point mass: ~0.75
    # ridge INLP left ~0.74 here
    projected = [project_out(x, fit.basis) for x in (fit_x, test_x)]
    assert threshold_accuracy(along(projected[0]), labels, along(projected[1]), labels) <= 0.55
    assert standardized_logistic_accuracy(torch.cat(projected), torch.cat([labels, labels])) <= 0.55
