"""The DCGAN-paper duplicate hash (Radford et al. 2015, §4.1.1).

A 3072-128-3072 denoising, dropout-regularised ReLU autoencoder is trained
on 32x32 center crops of the training images; an image's hash is its 128
code units binarised by thresholding the ReLU (bit = activation > 0).
Images with equal hashes are duplicates.

Choices the paper leaves open, fixed here:

- **Input.** Images are center-cropped to a square, then brought to 32x32
  with the project's 28 -> 32 rule (:func:`ganbench.api.data.fit_size`: 28-px
  digits are zero-padded by 2 px, other sizes resized, antialiased). Channels
  are kept, so the input has C*32*32 units: 3072 for colour images, 1024 for
  grayscale (replicating a gray channel three times would add no
  information, only cost).
- **Training.** Gaussian input corruption of std ``noise`` (pixels in
  [0, 1]), dropout ``dropout`` on the code, a sigmoid decoder with binary
  cross-entropy against the clean image, Adam (lr 1e-3), batch 64, ``epochs``
  passes. Everything random comes from generators seeded with ``seed``, so
  the same images and seed give the same hashes.
- **Hamming radius.** ``radius=0`` (the default) is the paper's rule:
  duplicates have identical bits. Measured on the 4,000 ``mnist-5k``
  training digits with the defaults (noise 0.3, dropout 0.3, 20 epochs;
  three training seeds; every digit copied with Gaussian pixel noise of std
  1 / 2 / 4 grey levels): exact copies always hash equal, noisy copies keep
  all 128 bits only 86-87% / 74-76% / 57-58% of the time, because some
  image lies close to some unit's threshold and one or two bits flip; no two
  distinct digits share a hash. With ``radius=r``, codes that differ in at
  most r bits are duplicates (groups are the connected components of that
  relation): radius 1 keeps 99% / 96-97% / 88-89% of the noisy copies with
  0-0.1% of distinct digits grouped, radius 2 keeps 99.9% / 99.5-99.7% /
  97.6-97.9% with 0.15-0.45% grouped. Keeping only the "most informative"
  bits (by entropy, or by stability under noise) was measured too and
  trades far worse: at 64 bits, 75-83% of the copies at 4 grey levels
  with 1.5-3% of distinct digits grouped.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import faiss
import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import nn

from ganbench.api.data import fit_size
from ganbench.builtin.probes.memorization.hash_settings import CODE_UNITS, CROP, HashSettings  # noqa: F401  (re-exported)

ENCODE_BATCH = 1024


def center_crops(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> float ``(N, C*32*32)`` in [0, 1]: square center crop, then 32x32."""
    x = images.float().div_(255.0)
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[..., top:top + side, left:left + side]
    if side != CROP:
        x = fit_size(x, CROP)
    return x.flatten(1)


class HashAutoencoder(nn.Module):
    """D-128-D: ReLU code, sigmoid reconstruction (the decoder returns logits)."""

    def __init__(self, input_units: int, code_units: int = CODE_UNITS):
        super().__init__()
        self.encoder = nn.Linear(input_units, code_units)
        self.decoder = nn.Linear(code_units, input_units)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.encoder(x))


@dataclass
class TrainedHash:
    """A trained hash autoencoder and what it took to train it."""

    model: HashAutoencoder
    settings: HashSettings
    device: torch.device
    final_loss: float
    seconds: float

    @torch.no_grad()
    def codes(self, images: torch.Tensor) -> np.ndarray:
        """float32 ``(N, 128)`` ReLU codes of uint8 images (the embedding other checks reuse)."""
        self.model.eval()
        chunks = []
        for start in range(0, len(images), ENCODE_BATCH):
            x = center_crops(images[start:start + ENCODE_BATCH]).to(self.device)
            chunks.append(self.model.code(x).float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.settings.code_units), dtype=np.float32)
        return np.concatenate(chunks)


def train_hash(images: torch.Tensor, settings: HashSettings, device: torch.device | str = "cpu") -> TrainedHash:
    """Train the denoising autoencoder on uint8 ``images`` (the training split)."""
    device = torch.device(device)
    started = time.perf_counter()
    input_units = images.shape[1] * CROP * CROP
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's RNG
        torch.manual_seed(settings.seed)
        model = HashAutoencoder(input_units, settings.code_units).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    order_rng = torch.Generator().manual_seed(settings.seed)
    noise_rng = torch.Generator(device=device).manual_seed(settings.seed + 1)
    loss = torch.zeros(())
    model.train()
    with _one_cpu_thread(device):
        for _ in range(settings.epochs):
            for batch in torch.randperm(len(images), generator=order_rng).split(settings.batch_size):
                clean = center_crops(images[batch]).to(device)
                loss = _denoising_loss(model, clean, settings, noise_rng)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return TrainedHash(model, settings, device, float(loss.detach()), time.perf_counter() - started)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """The steps are small (64 x 3072 x 128): on a CPU, extra threads cost more in
    synchronisation than they save, and on a busy machine they are ruinous (measured
    on 2 shared cores: 3 epochs of 3,000 digits in 1.3-2.9 s with one thread, 26 s with two)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _denoising_loss(model: HashAutoencoder, clean: torch.Tensor, settings: HashSettings,
                    rng: torch.Generator) -> torch.Tensor:
    noisy = clean + settings.noise * torch.randn(clean.shape, generator=rng, device=clean.device)
    code = model.code(noisy)
    if settings.dropout > 0:  # dropout drawn from our generator, so training is reproducible
        keep = torch.rand(code.shape, generator=rng, device=code.device) >= settings.dropout
        code = code * keep / (1.0 - settings.dropout)
    return F.binary_cross_entropy_with_logits(model.decoder(code), clean)


def hash_bits(codes: np.ndarray) -> np.ndarray:
    """The paper's binarisation: bit = ReLU code > 0, packed to uint8 ``(N, 16)``."""
    return np.packbits(codes > 0, axis=1)


def duplicate_groups(bits: np.ndarray, radius: int = 0) -> list[list[int]]:
    """Groups (>= 2 members, indices ascending, ordered by first member) of images whose hashes
    are within ``radius`` bits; with radius > 0 a group is a connected component of that relation."""
    if len(bits) == 0:
        return []
    if radius == 0:
        _, labels = np.unique(bits, axis=0, return_inverse=True)
    else:
        labels = _hamming_components(bits, radius)
    return _groups_from_labels(np.asarray(labels).ravel())


def _hamming_components(bits: np.ndarray, radius: int) -> np.ndarray:
    index = faiss.IndexBinaryFlat(bits.shape[1] * 8)
    index.add(np.ascontiguousarray(bits))
    # faiss keeps binary range-search hits strictly below the radius it is given
    limits, _, neighbours = index.range_search(np.ascontiguousarray(bits), radius + 1)
    rows = np.repeat(np.arange(len(bits)), np.diff(limits.astype(np.int64)))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, neighbours)), shape=(len(bits), len(bits)))
    return connected_components(graph, directed=False)[1]


def _groups_from_labels(labels: np.ndarray) -> list[list[int]]:
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    groups = [order[s:e].tolist() for s, e in zip(starts, np.r_[starts[1:], len(order)]) if e - s > 1]
    return sorted(groups, key=lambda g: g[0])


def indices_to_drop(groups: list[list[int]]) -> list[int]:
    """Every member of every group but its first (lowest) index."""
    return sorted(i for g in groups for i in g[1:])


def nearest_hash(query_bits: np.ndarray, train_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hamming distance, train index)`` of each query's closest training hash."""
    if len(query_bits) == 0 or len(train_bits) == 0:
        return np.zeros(len(query_bits), dtype=np.int32), np.full(len(query_bits), -1)
    index = faiss.IndexBinaryFlat(train_bits.shape[1] * 8)
    index.add(np.ascontiguousarray(train_bits))
    distances, neighbours = index.search(np.ascontiguousarray(query_bits), 1)
    return distances[:, 0], neighbours[:, 0]


def collision_fraction(query_bits: np.ndarray, train_bits: np.ndarray, radius: int = 0) -> float:
    """Fraction of queries whose hash is within ``radius`` bits of some training image's hash."""
    if len(query_bits) == 0:
        return float("nan")
    distances, _ = nearest_hash(query_bits, train_bits)
    return float(np.mean(distances <= radius))
