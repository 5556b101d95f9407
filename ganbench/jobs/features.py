"""How a model's features and samples are drawn (in float32) and its features cached on disk."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ganbench.jobs import bn_stats as bn
from ganbench.system.cache_files import CacheFile, tensors_digest
from ganbench.api.data import Dataset, fit_back, to_model_input, to_uint8
from ganbench.system.device import FEATURE_PRECISION, float32_math, memory_format
from ganbench.system.errors import UsageError
from ganbench.jobs.plugin_checks import checked_features, checked_samples


FEATURE_BATCH = 500


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FeatureSource:
    """Extracts (and caches on disk) a model's features of one view, in float32.

    ``bn_stats``: ``train-images`` (default) normalises every batch-norm layer
    the view reaches with statistics recomputed on the real training images
    (:mod:`ganbench.jobs.bn_stats`), in :meth:`embed` and so in every split and in
    ``ProbeContext.embed``; ``running`` uses the layers' running statistics.
    ``cache`` is the folder for the model's weights as loaded; files go to a
    subfolder named by the weights' digest (new weights never reuse old
    features) and by everything else that changes features (batch-norm mode,
    precision, device type), so e.g. a CPU row never reuses GPU features.
    Every batch ``features()`` returns is checked (:mod:`ganbench.jobs.plugin_checks`);
    cache files carry a digest and a damaged one is set aside and rebuilt
    (:mod:`ganbench.system.cache_files`). Call :meth:`weights_changed` after changing
    the model's weights once features were used.
    """

    def __init__(self, model, dataset: Dataset, device: torch.device, cache: Path | None,
                 bn_stats: str = "train-images", log: Callable[[str], None] = None, plugin: str | None = None):
        if bn_stats not in bn.MODES:
            raise UsageError(f"Bad --bn-stats {bn_stats!r}: expected one of {', '.join(bn.MODES)}.")
        self.model, self.dataset, self.device, self.bn_stats = model, dataset, device, bn_stats
        self.log = log or _log
        self.plugin = plugin or type(model).__name__
        self._base = cache
        self._digest: str | None = None
        self._memo: dict[tuple[str, str], np.ndarray] = {}  # the current view's splits only
        self._stats: dict[str, dict] = {}
        self._dims: dict[str, int] = {}
        self.progress = False  # a tqdm bar per extraction (quiet when stderr is not a terminal)

    @property
    def cache(self) -> Path | None:
        """The folder of these weights' files (``None``: nothing is cached)."""
        if self._base is None:
            return None
        if self._digest is None:
            self._digest = tensors_digest(self.model.state_tensors())
        return self._base.with_name(f"{self._base.name}-{self._digest}") / \
            f"{self.bn_stats}-{FEATURE_PRECISION}-{self.device.type}"

    def weights_changed(self) -> None:
        """The model's weights changed (e.g. ``after_training`` fitted a projection): forget what came from the old."""
        if self._base is None:
            self._memo, self._stats, self._dims = {}, {}, {}
            return
        digest = tensors_digest(self.model.state_tensors())
        if digest != self._digest:
            self._digest = digest
            self._memo, self._stats, self._dims = {}, {}, {}

    def config(self, view: str) -> dict:
        """How ``view``'s features are extracted: the row's ``feature_config``."""
        given = getattr(self.model, "feature_config", None)
        given = given(view) if callable(given) else None
        if given is not None:  # precomputed features say how they were made
            return dict(given)
        if self.bn_stats == "running":
            mode = "running" if bn.batch_norm_layers(self.model) else "none"
        else:
            mode = "train-images" if self.statistics(view) else "none"
        return {"bn_stats": mode, "precision": FEATURE_PRECISION, "device": self.device.type}

    # -- batch-norm statistics ------------------------------------------
    def statistics(self, view: str) -> dict[str, bn.LayerStats]:
        """The recomputed statistics of every batch-norm layer ``view`` reaches (empty: none)."""
        if view not in self._stats:
            self._stats[view] = self._load_or_recompute(view)
        return self._stats[view]

    def _load_or_recompute(self, view: str) -> dict[str, bn.LayerStats]:
        if not bn.batch_norm_layers(self.model):
            return {}
        file = None if self.cache is None else CacheFile(self.cache / f"bn-{view}.safetensors", self.log,
                                                         what="warning: batch-norm statistics")
        if file is not None:
            stats = file.read(bn.load, lambda loaded: bn.problem(self.model, loaded))
            if stats is not None:
                return stats
        model = self.model
        inputs = bn.batches(self.dataset.train_x, lambda x: to_model_input(x, model.image_size, model.value_range, self.device))
        with float32_math(self.device):
            stats = bn.recompute(model, view, inputs)
        if file is not None and bn.problem(model, stats) is None:  # non-finite statistics are never kept
            file.write(lambda tmp: bn.save(stats, Path(tmp)))
        return stats

    def bn_context(self, view: str):
        """While active, ``model.features(x, view)`` uses this source's batch-norm statistics."""
        if self.bn_stats == "running":
            return contextlib.nullcontext()
        return bn.applied(self.model, self.statistics(view))

    # -- features ---------------------------------------------------------
    @torch.no_grad()
    def embed(self, images: torch.Tensor, view: str) -> np.ndarray:
        """uint8 ``(N, C, H, W)`` -> float32 ``(N, D)`` features of ``view``; every batch checked."""
        fmt = memory_format(self.device)
        chunks, dim = [], None
        starts = range(0, len(images), FEATURE_BATCH)
        if self.progress:
            starts = tqdm(starts, desc=f"features '{view}'", unit="batch", disable=None, leave=False)
        with float32_math(self.device), self.bn_context(view):
            for start in starts:
                x = to_model_input(images[start:start + FEATURE_BATCH], self.model.image_size, self.model.value_range, self.device)
                f = checked_features(self.model.features(x.contiguous(memory_format=fmt), view), len(x), view,
                                     self.plugin, dim)
                dim = f.shape[1]
                chunks.append(f.float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def split(self, split: str, view: str) -> np.ndarray:
        if (view, split) not in self._memo:
            self._memo = {k: v for k, v in self._memo.items() if k[0] == view}
            self._memo[(view, split)] = self._load_or_extract(split, view)
        return self._memo[(view, split)]

    def dimension(self, view: str) -> int:
        if view not in self._dims:
            given = self._precomputed("test", view)
            sample = given if given is not None else self.embed(self.dataset.test_x[:2], view)
            self._dims[view] = int(sample.shape[1])
        return self._dims[view]

    def _cache_problem(self, feats: np.ndarray, split: str, view: str) -> str | None:
        rows = len(self.dataset.split(split)[0])
        expected = (rows, self.dimension(view))
        if feats.dtype != np.float32 or feats.shape != expected:
            return f"holds {feats.dtype} {feats.shape}, expected float32 {expected}"
        if not np.isfinite(feats).all():
            return "holds non-finite values"
        return None

    def _precomputed(self, split: str, view: str) -> np.ndarray | None:
        """The model's own features of the split (``Model.split_features``), or None: extract them."""
        given = getattr(self.model, "split_features", None)
        return given(split, view) if callable(given) else None

    def _load_or_extract(self, split: str, view: str) -> np.ndarray:
        given = self._precomputed(split, view)
        if given is not None:
            return given
        file = None if self.cache is None else CacheFile(self.cache / f"{view}-{split}.npy", self.log, what="warning: feature cache")
        if file is not None:
            feats = file.read(lambda p: np.load(p, allow_pickle=False),
                              lambda loaded: self._cache_problem(loaded, split, view), then="extracting the features again")
            if feats is not None:
                return feats
        feats = self.embed(self.dataset.split(split)[0], view)
        if file is not None:
            file.write(lambda tmp: _save_npy(tmp, feats))
        return feats


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to a path not ending in it
        np.save(f, array, allow_pickle=False)


def generator_for(model, dataset: Dataset, device: torch.device, plugin: str | None = None) -> Callable[[int, int], torch.Tensor]:
    """``generate(n, seed)`` -> uint8 ``(n, C, H, W)`` at the dataset's size; every batch
    ``sample`` returns is checked (shape, finite, within ``value_range``) and a bad one names ``plugin``.

    Samples are drawn in float32 like features (no bf16 autocast, no TF32): bf16's
    8-bit mantissa moves pixels by whole grey levels, which FID, the memorization
    probes and the augment classifier would then measure as the model's."""

    @torch.no_grad()
    def generate(n: int, seed: int) -> torch.Tensor:
        g = torch.Generator(device=device).manual_seed(seed)
        _, h, w = dataset.image_shape
        out = []
        for start in range(0, n, FEATURE_BATCH):
            m = min(FEATURE_BATCH, n - start)
            with float32_math(device):
                x = checked_samples(model.sample(m, g), m, dataset.image_shape[0], model.value_range,
                                    plugin or type(model).__name__)
            out.append(fit_back(to_uint8(x, model.value_range), h, w))
        return torch.cat(out)

    return generate
