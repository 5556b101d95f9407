"""``kmeans``: the single-layer K-means features of Coates, Lee & Ng (2011).

"An Analysis of Single-Layer Networks in Unsupervised Feature Learning"
(AISTATS 2011), the CIFAR-10 baseline of the DCGAN paper's Table 1. Nothing
is trained by gradients: the model is fitted once on real training images
(``after_training``) and its features are then a fixed function of the image.

The pipeline, as the paper's code (``kmeans_demo.m``, ``extract_features.m``):

1. ``patches`` random ``p x p`` patches (p = ``patch_size``, 6) of the training
   images, every channel, on 0-255 pixel values; patch ``i`` comes from image
   ``i mod N`` of a seeded permutation (their code cycles through the images),
   at a uniformly drawn position.
2. Brightness and contrast normalisation of every patch on its own:
   ``(p - mean(p)) / sqrt(var(p) + contrast_eps)`` (var with ddof=1, as MATLAB's).
3. ZCA whitening fitted on the normalised patches: ``(p - M) @ P`` with
   ``P = V diag(1 / sqrt(d + whiten_eps)) V^T`` from the eigenpairs ``(d, V)``
   of their covariance (ddof=1). With ``whiten_eps = 0`` the whitened
   patches have identity covariance; with 0.1 each eigen-direction keeps
   ``d / (d + 0.1)`` of it (their code's regularisation: the smallest
   directions are damped, not amplified into noise).
4. K-means with FAISS (``faiss.Kmeans``: ``centroids`` centroids,
   ``iterations`` Lloyd iterations, seeded from the run's seed; no
   subsampling). Their code initialises randomly and runs 50 iterations.
5. Features of an image: every ``p x p`` patch at stride 1 (27 x 27 positions
   for 32 px and p = 6), normalised and whitened as above; ``z_k`` the
   Euclidean distance to centroid ``k``; the triangle activation
   ``f_k = max(0, mean_j(z_j) - z_k)``; summed over the four quadrants of the
   position grid (rows and columns split at ``round(27 / 2) = 14``, as their
   code's ``halfr``), concatenated: ``4 K`` dimensions (6,400 for K = 1,600).

The paper then standardises the features (mean / std over the training
set) and trains an L2-SVM: ``--probe svm --probe-opt standardize=true``
(``benchmarks`` and README say what each setting measured).

Shapes (K = ``centroids``, C = channels, p = ``patch_size``, D = C p p,
images at the dataset's own size H x W):

- input ``(B, C, H, W)`` float32 on 0-255 (``value_range = (0, 255)``);
- fitted state (buffers of the ``kmeans`` module, saved as safetensors with
  the model and reloaded from the cache): ``mean (D,)``, ``whitening (D, D)``,
  ``centroids (K, D)`` float32, ``fitted ()`` bool, ``patches_used ()`` int64;
- view ``kmeans``: ``(B, 4 K)`` float32, quadrant-major:
  ``[top-left K | top-right K | bottom-left K | bottom-right K]``.

Distances are computed batch by batch with matrix products
(``|x|^2 + |c|^2 - 2 x . c``), ``IMAGES_PER_BATCH`` images at a time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ganbench.builtin.models.kmeans import KMEANS_OPTIONS, KMEANS_VIEWS  # noqa: F401  (re-exported)
from ganbench.api.data import DataInfo
from ganbench.api.model import Model

IMAGES_PER_BATCH = 4  # 4 x 729 patches x 1,600 centroids x 4 bytes = 19 MB of distances: near the cache, 30% faster than 16


class KMeansState(nn.Module):
    """The fitted whitening and centroids, as buffers (saved with the model's weights)."""

    def __init__(self, dim: int, centroids: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("whitening", torch.eye(dim))
        self.register_buffer("centroids", torch.zeros(centroids, dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("patches_used", torch.zeros((), dtype=torch.int64))


# -- the pieces, as plain functions (tested one by one) -------------------------------------

def normalise_patches(patches: torch.Tensor, eps: float) -> torch.Tensor:
    """(n, D) -> each row minus its mean, divided by sqrt(its variance (ddof=1) + ``eps``)."""
    mean = patches.mean(1, keepdim=True)
    var = patches.var(1, keepdim=True, unbiased=True)
    return (patches - mean) / torch.sqrt(var + eps)


def fit_whitening(patches: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ZCA of (n, D) ``patches``: ``(M (D,), P (D, D))`` with whitened = ``(patches - M) @ P``."""
    x = patches.double()
    mean = x.mean(0)
    centred = x - mean
    cov = centred.T @ centred / (len(x) - 1)
    values, vectors = torch.linalg.eigh(cov)
    scale = 1.0 / torch.sqrt(values.clamp_min(0) + eps)
    return mean.float(), ((vectors * scale) @ vectors.T).float()


def triangle(distances: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(n, K) distances -> (n, K) ``max(0, mean_j z_j - z_k)`` (Coates et al.'s "triangle" k-means);
    ``out=distances`` overwrites them (no second (n, K) buffer)."""
    return torch.sub(distances.mean(1, keepdim=True), distances, out=out).clamp_min_(0)


def quadrant_masks(rows: int, cols: int) -> torch.Tensor:
    """(4, rows * cols) 0/1 masks of the quadrants top-left, top-right, bottom-left, bottom-right of a
    row-major position grid, split at round(rows / 2), round(cols / 2) (half up, as MATLAB's round)."""
    r, c = (rows + 1) // 2, (cols + 1) // 2
    top = torch.arange(rows)[:, None] < r
    left = torch.arange(cols)[None, :] < c
    quadrants = [top & left, top & ~left, ~top & left, ~top & ~left]
    return torch.stack([q.reshape(-1) for q in quadrants]).float()


def quadrant_sums(activations: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """(B, rows * cols, K) activations (positions row-major) -> (B, 4 K) sums over the four quadrants
    (order of :func:`quadrant_masks`), as one batched matrix product."""
    masks = quadrant_masks(rows, cols).to(activations.device)
    return torch.matmul(masks, activations).flatten(1)


def random_patches(images: torch.Tensor, n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """(n, C * size * size) patches of (N, C, H, W) ``images``: patch i from image perm[i mod N]
    at a uniform position; the channel-major layout of ``F.unfold``."""
    count, channels, height, width = images.shape
    order = torch.randperm(count, generator=generator)
    which = order[torch.arange(n) % count]
    top = torch.randint(0, height - size + 1, (n,), generator=generator)
    left = torch.randint(0, width - size + 1, (n,), generator=generator)
    offsets = torch.arange(size)
    rows = (top[:, None] + offsets)[:, :, None].expand(n, size, size)
    cols = (left[:, None] + offsets)[:, None, :].expand(n, size, size)
    source = images.cpu()
    patches = source[which[:, None, None], :, rows, cols]  # (n, size, size, C)
    return patches.permute(0, 3, 1, 2).reshape(n, channels * size * size).float()


def faiss_kmeans(points: torch.Tensor, k: int, iterations: int, seed: int) -> torch.Tensor:
    """(k, D) centroids of (n, D) ``points`` by FAISS's k-means, ``iterations`` iterations, seeded, on every point."""
    import faiss

    x = np.ascontiguousarray(points.cpu().numpy(), dtype=np.float32)
    kmeans = faiss.Kmeans(x.shape[1], k, niter=iterations, seed=seed, verbose=False,
                          max_points_per_centroid=-(-len(x) // k) + 1)  # no subsampling: every patch counts
    kmeans.train(x)
    return torch.from_numpy(kmeans.centroids.copy())


def squared_distances(x: torch.Tensor, centroids: torch.Tensor, centroid_norms: torch.Tensor) -> torch.Tensor:
    """(n, K) ``|x - c|^2`` by ``|x|^2 + |c|^2 - 2 x . c`` (one matrix product), clamped at 0."""
    d = torch.addmm(centroid_norms[None, :], x, centroids.T, alpha=-2.0)
    return d.add_(x.square().sum(1, keepdim=True)).clamp_min_(0)


class KMeansFeatures(Model):
    """K-means features of Coates, Lee & Ng (2011); see the module docstring for the pipeline and shapes.

    Options (``ganbench list models --options``; defaults are the paper's):
    ``centroids`` 1,600, ``patches`` 400,000, ``patch_size`` 6,
    ``contrast_eps`` 10, ``whiten`` true, ``whiten_eps`` 0.1, ``iterations`` 50.

    Fitted once in ``after_training`` on the real training images the core
    passes (up to 10,000 images drawn by the run's seed; the 400,000 patches
    cycle through them, 40 per image); the state is saved with the model in
    its cache folder, so a second run loads it.
    """

    value_range = (0.0, 255.0)
    trains = False

    def __init__(self, centroids: int = 1600, patches: int = 400_000, patch_size: int = 6,
                 contrast_eps: float = 10.0, whiten_eps: float = 0.1, whiten: bool = True, iterations: int = 50):
        super().__init__(centroids=centroids, patches=patches, patch_size=patch_size, contrast_eps=contrast_eps,
                         whiten_eps=whiten_eps, whiten=whiten, iterations=iterations)

    def setup(self, info: DataInfo, device: torch.device) -> None:
        size = self.options["patch_size"]
        if min(info.height, info.width) < size:
            raise ValueError(f"kmeans: patch_size {size} is larger than the images ({info.height} x {info.width})")
        self.state = KMeansState(info.channels * size * size, self.options["centroids"]).to(device)

    def modules(self):
        return {"kmeans": self.state}

    def feature_views(self):
        return dict(KMEANS_VIEWS)

    def report(self) -> dict:
        return {"kmeans_patches": int(self.state.patches_used)}

    # -- fitting ------------------------------------------------------
    @torch.no_grad()
    def after_training(self, real: torch.Tensor) -> None:
        if bool(self.state.fitted):  # loaded from the cache
            return
        o = self.options
        # derived from the global RNG the core seeded: the same seed gives the same patches and centroids
        seed = int(torch.randint(0, 2**31 - 1, ()))
        generator = torch.Generator().manual_seed(seed)
        patches = normalise_patches(random_patches(real, o["patches"], o["patch_size"], generator), o["contrast_eps"])
        state = self.state
        if o["whiten"]:
            mean, whitening = fit_whitening(patches, o["whiten_eps"])
            state.mean.copy_(mean)
            state.whitening.copy_(whitening)
            patches = (patches - mean) @ whitening
        state.centroids.copy_(faiss_kmeans(patches, o["centroids"], o["iterations"], seed))
        state.patches_used.fill_(len(patches))
        state.fitted.fill_(True)

    # -- features -----------------------------------------------------
    def _activations(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, positions, K) triangle activations of every stride-1 patch."""
        o, state = self.options, self.state
        b = len(x)
        patches = F.unfold(x.float(), o["patch_size"]).transpose(1, 2).reshape(-1, state.mean.numel())
        patches = normalise_patches(patches, o["contrast_eps"])
        if o["whiten"]:
            patches = (patches - state.mean) @ state.whitening
        centroids = state.centroids
        distances = squared_distances(patches, centroids, centroids.square().sum(1)).sqrt_()
        return triangle(distances, out=distances).view(b, -1, len(centroids))

    @torch.no_grad()
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        if not bool(self.state.fitted):
            raise RuntimeError("kmeans: features asked for before the model was fitted (after_training)")
        size = self.options["patch_size"]
        rows, cols = x.shape[-2] - size + 1, x.shape[-1] - size + 1
        chunks = [quadrant_sums(self._activations(x[i:i + IMAGES_PER_BATCH]), rows, cols)
                  for i in range(0, len(x), IMAGES_PER_BATCH)]
        return torch.cat(chunks)
