"""``memorization``: is the generator copying its training set?

Needs a generator (runs once per run, not per feature view). It draws
``samples`` generated images and takes as many held-out images from the
test split (a seeded subset when the split is larger), then runs three
checks. All of them work in two spaces that do not depend on the model, so
rows of different models are comparable: pixels, and the 128-d ReLU code of
the DCGAN hash autoencoder trained on the training split.

1. **Hash (DCGAN §4.1.1).** The autoencoder of
   :mod:`ganbench.builtin.probes.memorization.hashing` (3072-128-3072 for colour 32x32
   center crops, 1024-128-1024 for grayscale; defaults: input noise 0.3,
   dropout 0.3, 20 epochs, seeded by the run's seed), code bits = ReLU > 0.

   - ``hash_train_duplicate_fraction``: training images that duplicate an
     earlier one (all but the first of each duplicate group) over the
     training size; the groups are in the details. Lower is cleaner.
   - ``hash_collision_fraction``: generated samples whose hash equals (or,
     with ``hash_radius=r``, is within r bits of) some training image's
     hash. The details hold the same fraction for held-out real images: a
     generator that does not copy stays near it. Lower is better.

2. **Nearest neighbours (FAISS exact L2).** For each generated sample and
   each held-out image, the distance to the nearest training image.

   - ``nn_ratio_pixels``: median distance of generated samples over median
     distance of held-out images, pixels in [0, 1] at the dataset's size.
   - ``nn_ratio_ae_code``: the same in the hash autoencoder's code space.

   About 1 for a generator that does not copy; << 1 when it copies. The
   details hold means, quantiles and the fraction of samples closer than the
   closest 1% of held-out images. ``nearest_neighbours.png`` in the run's
   artifacts folder shows the ``grid`` samples closest to the training set
   in pixels (the most suspicious first), 8 a row: rows 1, 3, 5, ... are
   samples, the row under each holds their nearest training images; its
   path is in ``nn_ratio_pixels``'s details.

3. **Data-copying test** (Meehan, Chaudhuri & Dasgupta 2020,
   :mod:`ganbench.builtin.probes.memorization.copying_test`) in the autoencoder's code space:
   k-means cells on the training codes (``ct_cells``, default 50 as in the
   paper's MNIST experiment, fewer when the held-out set has fewer than
   2(tau + 1) images per cell), cells with more than ``ct_tau`` (20)
   generated samples kept.

   - ``copying_ct``: C_T; << 0 means copying, >> 0 under-fitting, ~ 0
     neither (it is a z-score: |C_T| of a few is significant). C_T only
     sees the kept cells: read it with ``heldout_mass_kept`` in its details.
     A collapsed generator that fills one cell is judged on that cell alone
     (its C_T is NaN, stored as null, when no cell is kept).

Directions: the hash fractions are lower-is-better. The ratios and C_T
are neither: ``higher_is_better`` is None with ``target`` 1.0 (ratios) and
0.0 (C_T), so the leaderboard ranks by closeness to the value a generator
that neither copies nor under-fits would get. Values far above 1 (ratios)
or 0 (C_T) mean samples lie farther from the training set than real unseen
images do: poor fidelity, not a virtue.

Scale: the training split is searched whole, as float32 pixels in memory
(0.2 GB for MNIST's 60,000 digits, 0.6 GB for CIFAR-10); the autoencoder
trains on the device given (one CPU thread on a CPU, see
:func:`ganbench.builtin.probes.memorization.hashing.train_hash`).

The probe also adds the ``ganbench dedup`` command (:mod:`ganbench.builtin.probes.memorization.dedup`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganbench.builtin.probes.memorization import OPTIONS
from ganbench.system.errors import UsageError
from ganbench.api.probe import Metric, Probe, ProbeContext
from ganbench.builtin.probes.memorization.copying_test import data_copying_test
from ganbench.builtin.probes.memorization.hashing import (HashSettings, TrainedHash, collision_fraction, duplicate_groups, hash_bits,
                                indices_to_drop, nearest_hash, train_hash)
from ganbench.builtin.probes.memorization.neighbours import distance_ratio, nearest_training, pixel_vectors, save_neighbour_grid

GRID_FILE = "nearest_neighbours.png"
CODE_SPACE = "128-d ReLU code of the hash autoencoder trained on the training split"


class MemorizationProbe(Probe):
    """The three memorization checks; see the module docstring."""

    def __init__(self, **options):
        super().__init__(**{**{o.name: o.default for o in OPTIONS}, **options})
        if not 0.0 <= self.options["hash_dropout"] < 1.0:
            raise UsageError(f"Bad value {self.options['hash_dropout']} for option 'hash_dropout' of probe "
                             f"'memorization': must be at least 0 and below 1.")

    def hash_settings(self, seed: int) -> HashSettings:
        o = self.options
        return HashSettings(noise=o["hash_noise"], dropout=o["hash_dropout"], epochs=o["hash_epochs"],
                            radius=o["hash_radius"], seed=seed)

    def run(self, ctx: ProbeContext) -> list[Metric]:
        train = ctx.dataset.train_x
        heldout = heldout_subset(ctx.dataset.test_x, self.options["samples"], ctx.seed)
        generated = checked_samples(ctx.generate(len(heldout), ctx.seed), train)
        ctx.log(f"memorization: training the hash autoencoder on {len(train)} images")
        trained = train_hash(train, self.hash_settings(ctx.seed), ctx.device)
        codes = {"train": trained.codes(train), "heldout": trained.codes(heldout), "generated": trained.codes(generated)}
        sizes = {"n_train": len(train), "n_test": len(heldout)}
        ctx.log("memorization: hash collisions, nearest neighbours, data-copying test")
        return [
            *hash_metrics(trained, codes, sizes),
            *neighbour_metrics(ctx, train, heldout, generated, codes, self.options["grid"], sizes),
            copying_metric(codes, self.options["ct_cells"], self.options["ct_tau"], ctx.seed, sizes),
        ]


def heldout_subset(test_x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The whole test split, or a seeded subset of ``n`` of its images (in split order)."""
    if len(test_x) <= n:
        return test_x
    chosen = np.sort(np.random.default_rng(seed).choice(len(test_x), n, replace=False))
    return test_x[torch.from_numpy(chosen)]


def checked_samples(samples: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """The generator's output, refused unless uint8 images of the training images' shape."""
    if samples.dtype != torch.uint8 or tuple(samples.shape[1:]) != tuple(train.shape[1:]):
        raise ValueError(f"memorization: generated images must be uint8 (n, {', '.join(map(str, train.shape[1:]))}), "
                         f"got {samples.dtype} {tuple(samples.shape)}")
    return samples.cpu()


def hash_metrics(trained: TrainedHash, codes: dict, sizes: dict) -> list[Metric]:
    settings = trained.settings
    bits = {name: hash_bits(c) for name, c in codes.items()}
    groups = duplicate_groups(bits["train"], settings.radius)
    on = codes["train"] > 0
    training = {**settings.describe(), "final_loss": trained.final_loss, "seconds": round(trained.seconds, 2),
                "units_never_on": int((~on.any(0)).sum()), "mean_bits_on": float(on.sum(1).mean())}
    drop = indices_to_drop(groups)
    distances, neighbours = nearest_hash(bits["generated"], bits["train"])
    colliding = np.flatnonzero(distances <= settings.radius)
    return [
        Metric("hash_train_duplicate_fraction", len(drop) / max(1, sizes["n_train"]), False, **sizes, details={
            "groups": len(groups), "images_to_drop": len(drop), "largest_group": max(map(len, groups), default=0),
            "first_groups": groups[:10], "hash": training}),
        Metric("hash_collision_fraction", float(len(colliding) / max(1, len(distances))), False, **sizes, details={
            "heldout_collision_fraction": collision_fraction(bits["heldout"], bits["train"], settings.radius),
            "radius": settings.radius,
            "first_collisions_generated_train": [[int(i), int(neighbours[i])] for i in colliding[:10]]}),
    ]


def neighbour_metrics(ctx: ProbeContext, train, heldout, generated, codes: dict, grid: int, sizes: dict) -> list[Metric]:
    train_pixels = pixel_vectors(train)
    d_gen, nearest = nearest_training(train_pixels, pixel_vectors(generated))
    d_held, _ = nearest_training(train_pixels, pixel_vectors(heldout))
    pixels = distance_ratio(d_gen, d_held)
    pixels["space"] = "pixels in [0, 1] at the dataset's size, Euclidean"
    if grid > 0:
        shown = np.argsort(d_gen, kind="stable")[:grid]
        path = save_neighbour_grid(Path(ctx.artifacts_dir) / GRID_FILE, generated[shown], train[nearest[shown]])
        pixels["grid"] = str(path)
        ctx.log(f"memorization: wrote {path}")
    code_gen, _ = nearest_training(codes["train"], codes["generated"])
    code_held, _ = nearest_training(codes["train"], codes["heldout"])
    code = {**distance_ratio(code_gen, code_held), "space": CODE_SPACE}
    return [
        Metric("nn_ratio_pixels", pixels["ratio"], None, target=1.0, **sizes, details=pixels),
        Metric("nn_ratio_ae_code", code["ratio"], None, target=1.0, **sizes, details=code),
    ]


def copying_metric(codes: dict, cells: int, tau: int, seed: int, sizes: dict) -> Metric:
    result = data_copying_test(codes["train"], codes["heldout"], codes["generated"], cells, tau, seed)
    details = {**result.details(), "cells_requested": cells, "embedding": CODE_SPACE}
    if not result.kept.any():
        details["why_nan"] = f"no cell holds more than tau={tau} generated samples"
    return Metric("copying_ct", result.value, None, target=0.0, **sizes, details=details)
