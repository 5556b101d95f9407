"""The sample-quality formulas against closed forms, torch-fidelity and prdc."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from ganbench.builtin.probes.quality.metrics import Gaussian, fid, frechet_distance, kid, mmd2_unbiased, prdc


def closed_form_diagonal(mean_a, var_a, mean_b, var_b) -> float:
    """Fréchet distance of two Gaussians with diagonal covariances, by hand."""
    return float(((mean_a - mean_b) ** 2).sum() + (var_a + var_b - 2 * np.sqrt(var_a * var_b)).sum())


def test_frechet_distance_equals_the_closed_form_on_diagonal_covariances():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 1.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    value = frechet_distance(Gaussian(mean_a, np.diag(var_a)), Gaussian(mean_b, np.diag(var_b)))
    # 0.25 + 9 + (1 + 9 - 6) + (4 + 1 - 4) + 0 = 14.25
    assert value == pytest.approx(closed_form_diagonal(mean_a, var_a, mean_b, var_b), rel=1e-12, abs=1e-12)
    assert value == pytest.approx(14.25, rel=1e-12)


def random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_on_full_covariances_matches_scipy_sqrtm_and_torch_fidelity():
    fid_statistics_to_metric = pytest.importorskip("torch_fidelity.metric_fid").fid_statistics_to_metric

    rng = np.random.default_rng(0)
    d = 6
    a = Gaussian(rng.normal(size=d), random_covariance(rng, d))
    b = Gaussian(rng.normal(size=d), random_covariance(rng, d))
    by_scipy = float(((a.mean - b.mean) ** 2).sum() + np.trace(a.cov) + np.trace(b.cov)
                     - 2 * np.trace(scipy.linalg.sqrtm(a.cov @ b.cov)).real)
    by_fidelity = fid_statistics_to_metric({"mu": a.mean, "sigma": a.cov}, {"mu": b.mean, "sigma": b.cov}, False)
    assert frechet_distance(a, b) == pytest.approx(by_scipy, rel=1e-9)
    assert frechet_distance(a, b) == pytest.approx(by_fidelity["frechet_inception_distance"], rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_fid_of_two_gaussian_samples_is_the_closed_form_within_sampling_error():
    rng = np.random.default_rng(1)
    d, n = 4, 50000
    mean_a, mean_b = np.zeros(d), np.array([1.0, 0.0, -1.0, 0.5])
    var_a, var_b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([1.5, 1.0, 0.5, 3.0])
    real = rng.normal(size=(n, d)) * np.sqrt(var_a) + mean_a
    fake = rng.normal(size=(n, d)) * np.sqrt(var_b) + mean_b
    truth = closed_form_diagonal(mean_a, var_a, mean_b, var_b)
    # Error of the estimate: the mean term's standard deviation, 2 sqrt(dmu' (S_a + S_b) dmu / n), plus the
    # covariance terms, of order sqrt(2 tr(S^2) / n) each; five of those is a loose, sample-size-derived bound.
    dmu = mean_a - mean_b
    sigma = 2 * np.sqrt(dmu @ ((var_a + var_b) * dmu) / n) + np.sqrt(2 * ((var_a ** 2).sum() + (var_b ** 2).sum()) / n)
    assert abs(fid(real, fake) - truth) < 5 * sigma
    assert 5 * sigma < 0.1 * truth  # the bound is tight enough to mean something


def test_mmd2_unbiased_is_torch_fidelitys_estimator():
    kid_reference = pytest.importorskip("torch_fidelity.metric_kid")
    kernel_poly, mmd2 = kid_reference.kernel_poly, kid_reference.mmd2

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 8)), rng.normal(0.3, 1.0, size=(50, 8))
    kw = {"kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
    reference = mmd2(kernel_poly(x, x, **kw), kernel_poly(x, y, **kw), kernel_poly(y, y, **kw))
    assert mmd2_unbiased(x, y) == pytest.approx(reference, rel=1e-12)


def test_kid_is_unbiased_on_equal_distributions_and_positive_on_shifted_ones():
    rng = np.random.default_rng(3)
    real, same = rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8))
    shifted = rng.normal(0.5, 1.0, size=(1000, 8))
    equal = kid(real, same, subsets=20, subset_size=250, seed=0)
    apart = kid(real, shifted, subsets=20, subset_size=250, seed=0)
    assert equal.stderr > 0
    assert abs(equal.value) < 3 * equal.stderr
    assert apart.value > 10 * apart.stderr
    assert equal.subset_size == 250 and equal.subsets == 20


def planted_mixture(rng, n, modes):
    """``n`` points from equal-weight, well-separated 2-d Gaussian modes (centres 10 apart, std 0.5)."""
    centres = np.array([[10.0 * m, 0.0] for m in modes])
    return centres[rng.integers(len(modes), size=n)] + rng.normal(0, 0.5, size=(n, 2))


def test_a_generator_covering_half_the_modes_has_recall_and_coverage_near_half_and_precision_near_one():
    rng = np.random.default_rng(4)
    real = planted_mixture(rng, 1000, range(10))
    half = planted_mixture(rng, 1000, range(5))
    scores = prdc(real, half, k_pr=3, k_dc=5)
    assert scores["precision"] > 0.97
    assert abs(scores["recall"] - 0.5) < 0.05
    assert abs(scores["coverage"] - 0.5) < 0.05
    assert abs(scores["density"] - 1.0) < 0.15
    full = prdc(real, planted_mixture(rng, 1000, range(10)), k_pr=3, k_dc=5)
    assert full["recall"] > 0.95 and full["coverage"] > 0.9


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_equals_the_reference_code(k):
    reference = pytest.importorskip("prdc")

    rng = np.random.default_rng(5)
    real = planted_mixture(rng, 700, range(8)).astype(np.float32)
    fake = (planted_mixture(rng, 600, range(3, 8)) * 1.1).astype(np.float32)
    ours = prdc(real, fake, k_pr=k, k_dc=k)
    theirs = reference.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    assert ours == {name: pytest.approx(float(value), abs=1e-12) for name, value in theirs.items()}
