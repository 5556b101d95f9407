"""The ``kmeans`` model (Coates, Lee & Ng 2011): each step against a hand or numpy computation."""

import numpy as np
import pytest
import torch

from ganbench.api.testing import tiny_dataset
from ganbench.jobs import run as run_module
from ganbench.api.data import DataInfo
from ganbench.builtin.models.kmeans import model as km
from ganbench.jobs.run import Job, prepare_model


def test_triangle_activation_by_hand():
    # distances 1, 2, 6: mean 3, so 3 - z = 2, 1, -3 -> 2, 1, 0
    z = torch.tensor([[1.0, 2.0, 6.0], [4.0, 4.0, 4.0]])
    assert km.triangle(z).tolist() == [[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_quadrants_split_an_odd_grid_as_matlab_round():
    # 3 x 3 positions: round(1.5) = 2 rows and columns in the top-left quadrant (their code's halfr)
    masks = km.quadrant_masks(3, 3).view(4, 3, 3)
    assert masks[0].tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert masks[3].tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]
    assert masks.sum(0).eq(1).all()  # every position in exactly one quadrant
    # 27 x 27 (32 px, 6 x 6 patches): 14 + 13
    assert km.quadrant_masks(27, 27)[0].sum() == 14 * 14


def numpy_features(image, centroids, size, eps, mean=None, whitening=None):
    """Coates et al.'s extract_features.m for one (C, H, W) image, in float64 loops."""
    channels, height, width = image.shape
    rows, cols = height - size + 1, width - size + 1
    acts = np.zeros((rows, cols, len(centroids)))
    for r in range(rows):
        for c in range(cols):
            p = image[:, r:r + size, c:c + size].reshape(-1).astype(np.float64)
            p = (p - p.mean()) / np.sqrt(p.var(ddof=1) + eps)
            if whitening is not None:
                p = (p - mean) @ whitening
            z = np.sqrt(((centroids - p) ** 2).sum(1))
            acts[r, c] = np.maximum(0, z.mean() - z)
    hr, hc = int(np.floor(rows / 2 + 0.5)), int(np.floor(cols / 2 + 0.5))
    quads = [acts[:hr, :hc], acts[:hr, hc:], acts[hr:, :hc], acts[hr:, hc:]]
    return np.concatenate([q.sum((0, 1)) for q in quads])


@pytest.mark.parametrize("whiten", [False, True])
def test_features_equal_a_per_patch_numpy_computation(whiten):
    g = torch.Generator().manual_seed(0)
    model = km.KMeansFeatures(centroids=5, patch_size=3, whiten=whiten)
    model.setup(DataInfo("t", 2, 7, 6, 3, 10), torch.device("cpu"))
    dim = 2 * 3 * 3
    model.state.centroids.copy_(torch.randn(5, dim, generator=g))
    if whiten:
        model.state.mean.copy_(torch.randn(dim, generator=g) * 0.1)
        a = torch.randn(dim, dim, generator=g)
        model.state.whitening.copy_(a @ a.T / dim + torch.eye(dim))
    model.state.fitted.fill_(True)
    images = torch.randint(0, 256, (3, 2, 7, 6), generator=g).float()
    got = model.features(images, "kmeans").numpy()
    assert got.shape == (3, 4 * 5)
    state = {k: v.double().numpy() for k, v in model.state.state_dict().items()}
    for i in range(3):
        want = numpy_features(images[i].numpy(), state["centroids"], 3, 10.0,
                              state["mean"] if whiten else None, state["whitening"] if whiten else None)
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-3)


def correlated_patches(n=20_000, dim=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(dim, dim, generator=g)
    return torch.randn(n, dim, generator=g) @ mixing + torch.randn(dim, generator=g) * 5


def test_zca_without_regularisation_gives_identity_covariance():
    patches = correlated_patches()
    mean, whitening = km.fit_whitening(patches, eps=0.0)
    white = ((patches - mean) @ whitening).double()
    assert white.mean(0).abs().max() < 1e-3
    np.testing.assert_allclose(torch.cov(white.T).numpy(), np.eye(12), atol=2e-3)
    np.testing.assert_allclose(whitening.numpy(), whitening.numpy().T, atol=1e-5)  # ZCA: symmetric


def test_zca_with_eps_keeps_d_over_d_plus_eps_of_each_direction():
    patches = correlated_patches()
    _, whitening = km.fit_whitening(patches, eps=0.1)
    cov = torch.cov(patches.double().T)
    values, vectors = torch.linalg.eigh(cov)
    want = vectors @ torch.diag(values / (values + 0.1)) @ vectors.T
    got = whitening.double() @ cov @ whitening.double()
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-3)


def test_patch_normalisation_by_hand():
    p = torch.tensor([[0.0, 2.0, 4.0]])  # mean 2, var (ddof=1) 4: (p - 2) / sqrt(4 + 10)
    np.testing.assert_allclose(km.normalise_patches(p, 10.0).numpy(), [[-2 / np.sqrt(14), 0, 2 / np.sqrt(14)]],
                               rtol=1e-6)


def test_random_patches_are_the_image_pixels_at_their_positions():
    images = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5)
    patches = km.random_patches(images, 50, 2, torch.Generator().manual_seed(0))
    unfolded = torch.nn.functional.unfold(images, 2).transpose(1, 2).reshape(-1, 12)  # every patch, same layout
    for p in patches:
        assert (unfolded == p).all(1).any()


def test_kmeans_is_faiss_and_seeded(monkeypatch):
    import faiss
    import sklearn.cluster

    calls = []
    real = faiss.Kmeans

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(faiss, "Kmeans", spy)
    monkeypatch.setattr(sklearn.cluster, "KMeans", None)  # not the one used
    points = correlated_patches(n=3000, dim=8)
    a = km.faiss_kmeans(points, 16, 10, seed=3)
    b = km.faiss_kmeans(points, 16, 10, seed=3)
    c = km.faiss_kmeans(points, 16, 10, seed=4)
    assert len(calls) == 3 and calls[0]["seed"] == 3 and calls[0]["niter"] == 10
    assert torch.equal(a, b) and not torch.equal(a, c)
    # a k-means optimum: every centroid is the mean of the points nearest it (after 10 iterations, nearly)
    nearest = torch.cdist(points, a).argmin(1)
    means = torch.stack([points[nearest == k].mean(0) for k in range(16)])
    assert (means - a).norm(dim=1).max() < 0.05 * a.norm(dim=1).mean()


def prepare(tmp_path, monkeypatch, seed=0):
    data = tiny_dataset(n_train=40, n_test=10, classes=2, size=8, channels=3)
    monkeypatch.setattr(run_module, "load_dataset", lambda job, resolved: data)
    job = Job("kmeans", "mnist-5k", [], model_options={"centroids": "6", "patches": "2000", "patch_size": "3"},
              seed=seed, cache_dir=str(tmp_path / "cache"), device="cpu")
    messages = []
    prepared = prepare_model(job, log=messages.append)
    return prepared, messages, data


def test_fitted_state_is_seeded_and_cached_as_safetensors(tmp_path, monkeypatch):
    first, messages, data = prepare(tmp_path, monkeypatch)
    assert any(m.startswith("Fitted in") for m in messages)
    assert bool(first.model.state.fitted) and int(first.model.state.patches_used) == 2000
    weights = first.folder / "weights.safetensors"
    assert weights.exists()
    features = first.model.features(data.test_x.float(), "kmeans")
    assert features.shape == (10, 4 * 6) and torch.isfinite(features).all() and features.abs().sum() > 0
    again, messages, _ = prepare(tmp_path, monkeypatch)  # same seed: loaded, not fitted
    assert any(m.startswith("Loaded the fitted model") for m in messages)
    assert torch.equal(again.model.state.centroids, first.model.state.centroids)
    assert torch.equal(again.model.features(data.test_x.float(), "kmeans"), features)
    weights.unlink()  # refitted from the same seed: the same centroids
    refit, messages, _ = prepare(tmp_path, monkeypatch)
    assert any(m.startswith("Fitted in") for m in messages)
    assert torch.equal(refit.model.state.centroids, first.model.state.centroids)
    other, _, _ = prepare(tmp_path, monkeypatch, seed=1)
    assert not torch.equal(other.model.state.centroids, first.model.state.centroids)


def test_a_damaged_state_file_is_fitted_again(tmp_path, monkeypatch):
    first, _, _ = prepare(tmp_path, monkeypatch)
    weights = first.folder / "weights.safetensors"
    weights.write_bytes(b"not safetensors")
    again, messages, _ = prepare(tmp_path, monkeypatch)
    assert any("does not load" in m for m in messages) and any(m.startswith("Fitted in") for m in messages)
    assert torch.equal(again.model.state.centroids, first.model.state.centroids)
